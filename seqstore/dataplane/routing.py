"""Which requests are S3's, and the bucket and key they name (docs/s3.md, "Addressing").

A request is the S3 plane's when its SigV4 credential scope names service `s3`, when it is
presigned (`X-Amz-Algorithm` in the query), when it carries a SigV2 (`AWS key:signature`)
Authorization header, or, unsigned, when its first path segment or its Host's first label is an
access point alias (ends in `-s3alias`, which no omics path segment does). Everything else is the
omics API's. A rule read from bytes already in the ASGI scope: no lookup, no parsing of the path
for an omics request beyond one `find`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_plus

ALIAS_SUFFIX = "-s3alias"


def is_s3(scope: dict[str, Any]) -> bool:
    """Whether an HTTP request is for the S3 plane (cheap: the front router asks it of every
    request, omics ones included)."""
    authorization = None
    host = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value
        elif name == b"host":
            host = value
    if authorization is not None:
        return b"/s3/aws4_request" in authorization or authorization.startswith(b"AWS ")
    if b"X-Amz-Algorithm=" in scope.get("query_string", b""):
        return True
    path: str = scope["path"]
    first = path[1:].partition("/")[0]
    return first.endswith(ALIAS_SUFFIX) or host.partition(b".")[0].endswith(ALIAS_SUFFIX.encode())


def parse_query(raw: bytes) -> dict[str, str]:
    """A request's query string as `dict(parse_qsl(raw, keep_blank_values=True))` gives it (the
    last value of a repeated name), in a fifth of the time: a name or value with no `%` or `+` is
    taken as it is, where parse_qsl unquotes all of them (a presigned URL has nine)."""
    query: dict[str, str] = {}
    if not raw:
        return query
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        query[name] = value
    return query


@dataclass(frozen=True)
class Address:
    """The bucket (an alias, or "" for the service itself) and key ("" for the bucket) a request
    names, and whether it named the bucket in its Host (virtual-host style)."""

    bucket: str
    key: str
    virtual_host: bool

    @property
    def resource(self) -> str:
        return f"/{self.bucket}/{self.key}" if self.key else f"/{self.bucket}"


def address(scope: dict[str, Any], headers: dict[str, str]) -> Address:
    """Path style `/{bucket}/{key}` or virtual-host style `Host: {bucket}.{endpoint}` with
    `/{key}`. The key is percent-decoded once, as S3 does; it is only ever compared with stored
    keys, never made a file path."""
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    path = unquote(raw_path.partition("?")[0], encoding="utf-8", errors="replace")
    label = headers.get("host", "").partition(".")[0]
    if label.endswith(ALIAS_SUFFIX):
        return Address(label, path[1:], True)
    bucket, _, key = path[1:].partition("/")
    return Address(bucket, key, False)

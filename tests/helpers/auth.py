"""Requests signed by botocore's own SigV4 signer (with any key, region or clock) and sent byte for
byte as signed, and the access keys a server stores."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.helpers.clients import KEY, SECRET
from tests.helpers.names import REGION
from tests.helpers.servers import Server

EXPORT_RE = re.compile(r"\b(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=(\S+)")


# --- signing and sending requests exactly as signed


def sign(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    key: str = KEY,
    secret: str = SECRET,
    region: str = REGION,
    service: str = "omics",
    when: datetime | None = None,
) -> dict[str, str]:
    """The headers of a request signed by botocore's SigV4Auth (with the clock at `when`, naive
    UTC, if given). `url` is signed exactly as written: send it with `raw_request`."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = SigV4Auth(Credentials(key, secret), service, region)
    if when is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(request)
    signed = dict(request.headers.items())
    signed.setdefault("Host", urlsplit(url).netloc)
    return signed


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes, elapsed: float) -> None:
        self.status = status
        self.headers = headers  # names lower-cased
        self.body = body
        self.elapsed = elapsed

    @property
    def error_type(self) -> str | None:
        return self.headers.get("x-amzn-errortype")

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.error_type} {self.body[:300]!r}>"


def raw_request(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes | Iterable[bytes] = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    """One request over http.client with `path` (and query) sent as is, no normalization."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.monotonic()
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        names = {name.lower() for name in (headers or {})}
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if isinstance(body, bytes):
            if "content-length" not in names:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
        else:
            connection.endheaders()
            for chunk in body:
                connection.send(chunk)
        answer = connection.getresponse()
        data = answer.read()
        return Response(
            answer.status, {k.lower(): v for k, v in answer.getheaders()}, data, time.monotonic() - started
        )
    finally:
        connection.close()


def signed_request(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    **signing: Any,
) -> Response:
    """`raw_request` of a request signed for exactly `path` and `body`."""
    signed = sign(method, base_url + path, body=body, headers=headers, **signing)
    return raw_request(base_url, method, path, body=body, headers=signed)


# --- the access keys the server stores


def database_url(server: Server) -> str:
    return server.extra_env.get("SEQSTORE_DATABASE_URL") or f"sqlite:///{server.data_dir / 'seqstore.db'}"


def stored_key_rows(server: Server) -> list[dict[str, Any]]:
    """The rows of the access_keys table, straight from the server's database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url(server))
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text("SELECT * FROM access_keys"))]
    finally:
        engine.dispose()


def parse_exports(text: str) -> tuple[str, str]:
    """The (access key id, secret) of the `export AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=…`
    lines in `text` (the last ones if there are several)."""
    found = dict(EXPORT_RE.findall(text))
    assert "AWS_ACCESS_KEY_ID" in found and "AWS_SECRET_ACCESS_KEY" in found, text
    return found["AWS_ACCESS_KEY_ID"], found["AWS_SECRET_ACCESS_KEY"]

"""A request as it goes on the wire, built from an operation's parameters the way botocore
serializes restJson1 (URI labels, query string, headers, a JSON body or a streamed payload), with
room for the tricks no client would send; and the answer it got."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import regex

from seqstore.protocol.auth import UNSIGNED_PAYLOAD
from tests.fuzzing.model import DELETE, bindings, payload_member


@dataclass
class Wire:
    """One request as it goes on the wire. `target` is the request target (path and query) as
    latin-1 text of the raw bytes sent; it is signed exactly as it is."""

    operation: str
    category: str
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    declared_length: int | None = None  # a Content-Length other than len(body)
    case: str = ""
    invalid: bool = False  # must not succeed
    subject: str | None = None  # the `id` it was built with (DeleteSequenceStore)
    store: str | None = None  # the `sequenceStoreId` it was built with


@dataclass
class Answer:
    status: int | None  # None: no answer (timeout, connection closed)
    headers: dict[str, str]
    body: bytes
    error: str = ""

    @property
    def bucket(self) -> str:
        if self.status is None:
            return "none"
        return f"{self.status // 100}xx"


def encode_label(value: Any) -> str:
    # surrogatepass: a lone surrogate goes out as the (invalid UTF-8) bytes ED A0 80.
    return quote(str(value), safe="-_.~", errors="surrogatepass")


def ascii_safe(value: Any) -> bool:
    """Header values must be latin-1 text without line breaks."""
    if not isinstance(value, str):
        return True
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return "\r" not in value and "\n" not in value


def build(op: Any, params: dict[str, Any], category: str, *, raw_labels: dict[str, str] | None = None,
          extra_query: list[str] | None = None, body: bytes | None = None, content_type: str | None = None,
          method: str | None = None, headers: dict[str, str] | None = None, case: str = "",
          invalid: bool = False, declared_length: int | None = None) -> Wire:
    """The wire form of `params` for `op`, as botocore serializes restJson1 (plus the tricks)."""
    members = bindings(op)
    uri, _, fixed_query = op.http["requestUri"].partition("?")
    labels = {wire: member for member, (where, wire) in members.items() if where == "uri"}

    def label(match: Any) -> str:
        wire = match.group(1).rstrip("+")
        if raw_labels and wire in raw_labels:
            return raw_labels[wire]
        member = labels[wire]
        if member not in params or params[member] is DELETE:
            return ""
        return encode_label(params[member])

    path = regex.sub(r"\{([^}]+)\}", label, uri)
    query: list[str] = [fixed_query] if fixed_query else []
    wire_headers: dict[str, str] = dict(headers or {})
    json_members: dict[str, Any] = {}
    payload = payload_member(op)
    for member, value in params.items():
        if value is DELETE:
            continue
        where, wire = members.get(member, ("body", member))
        if where == "uri":
            continue
        if where == "querystring":
            values = value if isinstance(value, list) else [value]
            for item in values:
                text = str(item).lower() if isinstance(item, bool) else str(item)
                query.append(f"{quote(wire, safe='-_.~')}={encode_label(text)}")
        elif where == "header":
            wire_headers[wire] = str(value)
        elif member != payload:
            json_members[member] = value
    query += extra_query or []
    target = path + ("?" + "&".join(query) if query else "")
    if payload:
        data = body if body is not None else params.get(payload, b"")
        wire_headers.setdefault("X-Amz-Content-SHA256", UNSIGNED_PAYLOAD)
        if not isinstance(data, bytes):
            data = json.dumps(data).encode()
    elif body is not None:
        data = body
        if content_type is None:
            content_type = "application/json"
    else:
        has_body = any(where == "body" for where, _ in members.values())
        data = json.dumps(json_members).encode() if (json_members or has_body) else b""
        if data and content_type is None:
            content_type = "application/json"
    if content_type is not None:
        wire_headers["Content-Type"] = content_type
    return Wire(op.name, category, method or op.http["method"], target, wire_headers, data,
                declared_length=declared_length, case=case, invalid=invalid)

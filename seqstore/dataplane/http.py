"""The small HTTP pieces the data planes share: a request read from ASGI, JSON and ranged file
answers."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ..store.common import OutsideRange, byte_span

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
MAX_BODY = 1024 * 1024  # JSON bodies of the data planes are small


class Plane:
    """A plane of the port routed by path: every request whose path starts with `prefix`."""

    prefix = "/"

    def __init__(self, domain: Any) -> None:
        self.domain = domain

    @classmethod
    def handles(cls, path: str) -> bool:
        return path.startswith(cls.prefix)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    scheme: str
    client: str | None
    raw_path: str  # as sent, percent-encoded (what a SigV4 signature covers)
    raw_query: str

    def first(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def base_url(self) -> str:
        """scheme://host[:port] as the client reached this server."""
        return f"{self.scheme}://{self.headers.get('host', 'localhost')}"


async def read_request(scope: dict[str, Any], receive: Receive) -> Request:
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        query.setdefault(name, []).append(value)
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_BODY:
            raise ValueError(f"the request body is over {MAX_BODY} bytes")
    client = scope.get("client")
    return Request(
        scope["method"],
        scope["path"],
        query,
        headers,
        body,
        scope.get("scheme", "http"),
        client[0] if client else None,
        (scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
        scope.get("query_string", b"").decode("latin-1"),
    )


async def send_json(send: Send, status: int, document: Any, content_type: str = "application/json") -> None:
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A `Range: bytes=a-b | a- | -n` header within `size` bytes → (offset, length); None without
    one; ValueError when it selects nothing."""
    if header is None:
        return None
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise ValueError(f"the Range {header!r} is not bytes=START-END, START- or -SUFFIX")
    try:
        return byte_span(match.group(1), match.group(2), size, "file")
    except OutsideRange as exc:
        raise ValueError(f"the Range {header!r} {exc}") from None


async def stream_body(send: Send, chunks: AsyncIterator[bytes]) -> int:
    """Send `chunks` as the response body, the last one as the final message (one message for a
    body of one chunk: a ranged read's usual case); the number of bytes sent."""
    sent = 0
    held: bytes | None = None
    async for chunk in chunks:
        if held is not None:
            await send({"type": "http.response.body", "body": held, "more_body": True})
        held = chunk
        sent += len(chunk)
    await send({"type": "http.response.body", "body": held or b""})
    return sent


async def send_bytes(
    send: Send,
    chunks: AsyncIterator[bytes],
    *,
    size: int,
    offset: int,
    length: int,
    partial: bool,
    content_type: str = "application/octet-stream",
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(length).encode()),
        (b"accept-ranges", b"bytes"),
    ]
    if partial:
        headers.append((b"content-range", f"bytes {offset}-{offset + length - 1}/{size}".encode()))
    await send({"type": "http.response.start", "status": 206 if partial else 200, "headers": headers})
    await stream_body(send, chunks)


def byte_window(request: Request, size: int) -> tuple[int, int, bool]:
    """(offset, length, partial) of a file of `size` bytes that the request's `Range` asks for
    (the whole file without one); ValueError when the Range selects nothing."""
    wanted = parse_range(request.headers.get("range"), size)
    return (*wanted, True) if wanted is not None else (0, size, False)


async def send_stored(send: Send, blobs: Any, blob_key: str, size: int, window: tuple[int, int, bool]) -> None:
    """The `window` of a stored file, streamed from the blob store (206 when partial)."""
    offset, length, partial = window
    chunks = blobs.read_range(blob_key, offset, length)
    await send_bytes(send, chunks, size=size, offset=offset, length=length, partial=partial)

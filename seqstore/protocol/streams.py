"""Streaming request and response bodies (UploadReadSetPart in, GetReadSet/GetReference out)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any

from ..errors import RequestTimeoutException, ServiceError, ValidationException

Receive = Callable[[], Awaitable[dict[str, Any]]]


async def receive_within(receive: Receive, timeout: float) -> dict[str, Any]:
    """The next ASGI message, or RequestTimeoutException when a stalled client sends nothing.

    A message that has arrived already (a small body comes with the headers) is taken without
    a timer: the receive coroutine is stepped once by hand and, if it finishes at once, no timer
    is set (setting and cancelling one costs ~6 µs, as much as the rest of a cached read).
    Only a receive that has to wait runs on, from where it stopped, under the timeout."""
    pending = receive()
    if not isinstance(pending, Coroutine):
        return await _within(pending, timeout)
    try:
        waiting_on = pending.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    return await _within(_Resumed(pending, waiting_on), timeout)


async def _within(pending: Awaitable[dict[str, Any]], timeout: float) -> dict[str, Any]:
    try:
        async with asyncio.timeout(timeout):  # cheaper than wait_for: no task per message
            return await pending
    except TimeoutError:
        raise RequestTimeoutException(f"No request body bytes arrived for {timeout:.0f} seconds") from None


class _Resumed:
    """Awaits the rest of a coroutine that has been stepped once and yielded `waiting_on` (what
    `yield from`/`await` would do had it been awaited from the start): whatever the event loop
    sends or throws in goes on to the coroutine, so a timeout's cancellation reaches it."""

    def __init__(self, coroutine: Coroutine[Any, Any, dict[str, Any]], waiting_on: Any) -> None:
        self._coroutine = coroutine
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, dict[str, Any]]:
        coroutine, waiting_on = self._coroutine, self._waiting_on
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - handed on, as `await` would
                try:
                    waiting_on = coroutine.throw(exc)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
            else:
                try:
                    waiting_on = coroutine.send(sent)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]


class IncompleteBody(ValidationException):
    """The client closed the connection before sending the whole body."""


class RequestBody:
    """The body of a request with a streaming payload, read chunk by chunk, never whole.
    `content_length` is None for chunked requests."""

    def __init__(
        self,
        receive: Receive,
        content_length: int | None,
        *,
        timeout: float = 60.0,
        expected_sha256: str | None = None,
    ) -> None:
        self._receive = receive
        self.content_length = content_length
        self.timeout = timeout
        # A body that signed its hash (not UNSIGNED-PAYLOAD) must match it.
        self._expected_sha256 = expected_sha256
        self._hash = hashlib.sha256() if expected_sha256 else None
        self.received = 0
        self._done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """Yield the body's chunks; raise IncompleteBody if the client went away early or sent a
        body that disagrees with its Content-Length."""
        while not self._done:
            message = await receive_within(self._receive, self.timeout)
            if message["type"] == "http.disconnect":
                raise IncompleteBody(
                    f"The connection closed after {self.received} of "
                    f"{self.content_length if self.content_length is not None else 'unknown'} bytes"
                )
            chunk = message.get("body", b"")
            if chunk:
                self.received += len(chunk)
                if self._hash is not None:
                    self._hash.update(chunk)
                yield chunk
            if not message.get("more_body", False):
                self._done = True
        if self.content_length is not None and self.received != self.content_length:
            raise IncompleteBody(
                f"Received {self.received} bytes but Content-Length said {self.content_length}"
            )
        if self._hash is not None and self._hash.hexdigest() != self._expected_sha256:
            raise ServiceError(
                "The body does not match its signed X-Amz-Content-SHA256",
                code="InvalidSignatureException",
                status=403,
            )

    async def drain(self, max_bytes: int | None = None) -> None:
        """Read and drop whatever is left, so the connection can be reused; but not a body
        longer than `max_bytes` (declared or received): that is left unread (the server then
        closes the connection) rather than waited for."""
        if max_bytes is not None and self.content_length is not None and self.content_length > max_bytes:
            return
        async for _ in self.chunks():
            if max_bytes is not None and self.received > max_bytes:
                return


@dataclass
class ResponseStream:
    """A streaming response body of known length: `chunks` yields exactly `content_length` bytes."""

    content_length: int
    chunks: Callable[[], AsyncIterator[bytes]]
    content_type: str = "application/octet-stream"

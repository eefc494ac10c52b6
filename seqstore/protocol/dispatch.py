"""The ASGI entry point of the protocol layer: route, parse, validate, call the handler,
serialize the output or the error. Handlers never see HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.model import OperationModel

from ..config import PART_SIZE
from ..errors import (
    AccessDeniedException,
    NotSupportedOperationException,
    RequestTimeoutException,
    ServiceError,
    ValidationException,
)
from .auth import AccessKey, SigV4Verifier, declared_body_hash
from .cache import CacheKey, ResponseCache
from .model import storage_operations
from .parsing import collect_input, has_json_body, parse_body_json, parse_query, payload_member
from .quotas import ConcurrencyLimiter, RateLimiter
from .routing import Router
from .serialize import error_body, serialize_output
from .streams import RequestBody, ResponseStream, receive_within

log = logging.getLogger("seqstore.requests")
audit_log = logging.getLogger("seqstore.audit")
# Operations a read-only key may call.
READ_ONLY_PREFIXES = ("Get", "List")

Handler = Callable[..., Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
# An extra, non-model route: takes nothing, returns (status, JSON-able body).
InternalRoute = Callable[[], tuple[int, dict[str, Any]]]

MAX_JSON_BODY = 1024 * 1024
# A refused streamed body is read to its end (keeping the connection usable) only up to the part
# limit: a longer one can never be accepted, so its error is answered without waiting for it.
MAX_DRAIN_BODY = PART_SIZE


class Dispatcher:
    """ASGI application answering every storage operation of the model.

    `handlers` maps operation names to functions `handler(params) -> dict`; sync handlers of
    writes run in a thread pool, those of reads (Get*/List*) and async ones (the streaming calls)
    on the event loop. Operations without
    a handler answer NotSupportedOperationException."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        *,
        internal_routes: Mapping[str, InternalRoute] | None = None,
        on_startup: Callable[[], None] | None = None,
        on_shutdown: Callable[[], None] | None = None,
        threads: int = 16,
        verifier: SigV4Verifier | None = None,
        resource_of: Callable[[str, dict[str, str]], str | None] | None = None,
        audit: bool = True,
        body_timeout: float = 60.0,
        rate_limiter: RateLimiter | None = None,
        concurrency_limiter: ConcurrencyLimiter | None = None,
        inline_reads: bool = True,
        response_cache: ResponseCache | None = None,
    ) -> None:
        operations = storage_operations()
        known = {op.name for op in operations}
        unknown = set(handlers) - known
        if unknown:
            raise ValueError(f"handlers for operations outside the storage API: {sorted(unknown)}")
        self.router = Router(operations)
        self.handlers = dict(handlers)
        self.async_handlers = frozenset(name for name, h in handlers.items() if inspect.iscoroutinefunction(h))
        self.internal_routes = dict(internal_routes or {})
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="seqstore-api")
        self.verifier = verifier
        self.resource_of = resource_of
        self.audit = audit
        self.body_timeout = body_timeout
        self.rate_limiter = rate_limiter
        self.concurrency_limiter = concurrency_limiter
        self.inline_reads = inline_reads
        self.response_cache = response_cache

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.on_startup:
                        await asyncio.get_running_loop().run_in_executor(None, self.on_startup)
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.on_shutdown:
                    await asyncio.get_running_loop().run_in_executor(None, self.on_shutdown)
                self.executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        request_id = _request_id()
        started = time.perf_counter()
        method = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_query = scope.get("query_string", b"").decode("latin-1")
        status = 500
        operation_name = "-"
        labels: dict[str, str] = {}
        key: AccessKey | None = None
        body: RequestBody | None = None
        bytes_in = 0
        bytes_out = 0
        response_started = False
        internal_request = False
        counted_in: tuple[str, str] | None = None

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal response_started, bytes_out
            response_started = True
            bytes_out += len(message.get("body", b""))
            await send(message)

        try:
            internal = self.internal_routes.get(raw_path)
            internal_request = internal is not None
            if internal is not None:
                status, payload = internal()
                await _send_json(tracked_send, status, json.dumps(payload).encode(), request_id)
                return
            operation, labels = self.router.match(method, raw_path)
            operation_name = operation.name
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            payload_name = payload_member(operation)
            raw_body: bytes | None = None
            if payload_name:
                body = RequestBody(
                    receive,
                    _content_length(headers),
                    timeout=self.body_timeout,
                    expected_sha256=declared_body_hash(headers),
                )
            else:
                raw_body = await _read_body(receive, headers, self.body_timeout)
                bytes_in = len(raw_body)
            if self.verifier is not None:
                key = self.verifier.verify(method, raw_path, raw_query, headers, raw_body)
                if key.read_only and not operation.name.startswith(READ_ONLY_PREFIXES):
                    raise AccessDeniedException(
                        f"Access key {key.access_key_id} is read-only and may not call {operation.name}"
                    )
            caller = key.access_key_id if key else "-"
            if self.rate_limiter is not None:
                self.rate_limiter.check(caller, operation.name)
            if self.concurrency_limiter is not None and self.concurrency_limiter.enter(
                caller, operation.name
            ):
                counted_in = (caller, operation.name)
            handler = self.handlers.get(operation.name)
            if handler is None:
                raise NotSupportedOperationException(
                    f"{operation.name} is not implemented by this seqstore server yet"
                )
            cache = self.response_cache
            cache_key: CacheKey | None = None
            if cache is not None and raw_body is not None and operation.name in cache.operations:
                cache_key = (operation.name, raw_path, raw_query, raw_body, headers.get("content-type"))
                cache_version = cache.version()
                answer = cache.get(cache_key, cache_version)
                if answer is not None:
                    status = int(operation.http.get("responseCode", 200))
                    await _send_json(tracked_send, status, answer, request_id)
                    return
            query = parse_query(raw_query)
            if body is not None and payload_name:
                raw_input, validator = collect_input(operation, labels, query, headers, {})
                raw_input[payload_name] = body
            else:
                json_body = _parse_body(raw_body or b"", headers, has_json_body(operation))
                raw_input, validator = collect_input(operation, labels, query, headers, json_body)
            params = validator.check(operation.input_shape, raw_input, "") if operation.input_shape else {}
            validator.raise_if_failed()
            if operation.name in self.async_handlers:
                output = await handler(params)
            elif self.inline_reads and operation.name.startswith(READ_ONLY_PREFIXES):
                # A read is a few short queries: handing it to a thread costs more (GIL hand-offs
                # measured at 2.5x the requests/s) than running it here. Writes may wait for a
                # database lock, so they go to the pool.
                output = handler(params)
            else:
                loop = asyncio.get_running_loop()
                output = await loop.run_in_executor(self.executor, handler, params)
            status = int(operation.http.get("responseCode", 200))
            if cache is not None and cache_key is not None:
                answer = serialize_output(operation.output_shape, output or {})
                cache.put(cache_key, cache_version, answer)
                await _send_json(tracked_send, status, answer, request_id)
            else:
                await self._send_output(tracked_send, operation, status, output or {}, request_id)
        except ServiceError as exc:
            if response_started:
                raise
            status = exc.status
            if body is not None and exc.status < 500 and not isinstance(exc, RequestTimeoutException):
                # Leave the connection usable: the client is still sending the part.
                # But not a body longer than any part may be: answer at once instead.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(body.drain(MAX_DRAIN_BODY), timeout=30)
            await _send_error(tracked_send, exc.status, exc.code, exc.message, request_id)
        except Exception:
            log.exception("internal error in %s (request id %s)", operation_name, request_id)
            if response_started:
                raise  # the status line is out; the server closes the connection mid-body
            status = 500
            await _send_error(
                tracked_send,
                500,
                "InternalServerException",
                f"An internal error occurred; quote request id {request_id} when reporting it",
                request_id,
            )
        finally:
            if counted_in is not None and self.concurrency_limiter is not None:
                self.concurrency_limiter.leave(*counted_in)
            if body is not None:
                bytes_in = body.received
            if self.audit and not internal_request and audit_log.isEnabledFor(logging.INFO):
                audit_log.info(
                    json.dumps(
                        {
                            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "requestId": request_id,
                            "accessKeyId": key.access_key_id if key else None,
                            "operation": operation_name,
                            "resource": self.resource_of(operation_name, labels)
                            if self.resource_of
                            else raw_path,
                            "status": status,
                            "bytesIn": bytes_in,
                            "bytesOut": bytes_out,
                            "latencyMs": round((time.perf_counter() - started) * 1000, 2),
                        }
                    )
                )

    async def _send_output(
        self, send: Send, operation: OperationModel, status: int, output: dict[str, Any], request_id: str
    ) -> None:
        shape = operation.output_shape
        payload_name = shape.serialization.get("payload") if shape is not None else None
        if shape is not None and payload_name:
            stream = output[payload_name]
            assert isinstance(stream, ResponseStream)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": _headers(request_id, stream.content_type, stream.content_length),
                }
            )
            async for chunk in stream.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if status == 204:
            await send({"type": "http.response.start", "status": 204, "headers": _headers(request_id)})
            await send({"type": "http.response.body", "body": b""})
            return
        await _send_json(send, status, serialize_output(shape, output), request_id)


def _request_id() -> str:
    """A random (version 4) UUID as text, as uuid.uuid4() gives but without the UUID object and
    the system call (~0.6 µs, not 4): request ids need to be unique, not unpredictable."""
    h = f"{random.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise ValidationException(f"Content-Length {value!r} is not a number") from None
    if length < 0:
        raise ValidationException("Content-Length must not be negative")
    return length


async def _read_body(receive: Receive, headers: dict[str, str], timeout: float) -> bytes:
    """Read a small (JSON) body, refusing more than MAX_JSON_BODY before reading it whole."""
    length = _content_length(headers)
    if length is not None and length > MAX_JSON_BODY:
        raise ValidationException(
            f"The request body has {length} bytes; JSON bodies may have at most {MAX_JSON_BODY}"
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive_within(receive, timeout)
        if message["type"] == "http.disconnect":
            raise ValidationException("The connection closed before the request body was received")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_JSON_BODY:
            raise ValidationException(f"The request body exceeds {MAX_JSON_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse_body(body: bytes, headers: dict[str, str], expects_json: bool) -> dict[str, Any]:
    if not body.strip() and not expects_json:
        return {}
    return parse_body_json(body, headers.get("content-type"))


def _headers(
    request_id: str, content_type: str | None = None, length: int | None = None
) -> list[tuple[bytes, bytes]]:
    headers = [(b"x-amzn-requestid", request_id.encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return headers


async def _send_json(send: Send, status: int, body: bytes, request_id: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _headers(request_id, "application/json", len(body)),
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Send, status: int, code: str, message: str, request_id: str) -> None:
    body = error_body(message)
    headers = _headers(request_id, "application/json", len(body))
    headers.append((b"x-amzn-errortype", code.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

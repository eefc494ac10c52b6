"""The ASGI entry point of the protocol layer. A request goes through named stages — route,
read, authenticate, limit, cached answer, parse, invoke, respond, and at the end audit — each a short
method reading and filling one `Exchange`. What a stage decides by operation it reads from the
operation's declaration (`operations.Operation`); handlers never see HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..config import PART_SIZE
from ..errors import (
    AccessDeniedException,
    NotSupportedOperationException,
    RequestTimeoutException,
    ServiceError,
    ValidationException,
)
from .auth import SigV4Verifier, declared_body_hash
from .cache import ResponseCache
from .exchange import Exchange, Receive, Send, send_error, send_json, send_output, send_text
from .faults import Faults
from .metrics import CONTENT_TYPE as METRICS_TYPE
from .metrics import RequestMetrics
from .model import storage_operations
from .operations import Operation, Registry
from .parsing import (
    MAX_JSON_BODY,
    collect_input,
    content_length,
    has_json_body,
    parse_body,
    parse_query,
    payload_member,
)
from .quotas import ConcurrencyLimiter, RateLimiter
from .routing import Router
from .serialize import serialize_output
from .streams import RequestBody, receive_within

log = logging.getLogger("seqstore.requests")
audit_log = logging.getLogger("seqstore.audit")

# An extra, non-model route: given the exchange (method, path, query, client, `receive` for a
# body), returns (status, JSON-able body). Matched by exact path before any stage runs.
InternalRoute = Callable[[Exchange], Awaitable[tuple[int, Any]]]

# A refused streamed body is read to its end (keeping the connection usable) only up to the part
# limit: a longer one can never be accepted, so its error is answered without waiting for it.
MAX_DRAIN_BODY = PART_SIZE


@dataclass(frozen=True)
class Policies:
    """What the stages decide with. None turns a stage off: no verifier answers unsigned
    requests, no limiter limits nothing, no cache computes every answer."""

    verifier: SigV4Verifier | None = None
    rate_limiter: RateLimiter | None = None
    concurrency_limiter: ConcurrencyLimiter | None = None
    response_cache: ResponseCache | None = None
    audit: bool = True
    body_timeout: float = 60.0
    # Sync handlers of writes run in a pool of `threads`; those of reads on the event loop
    # (unless `inline_reads` is off), as do async ones (the streaming calls).
    threads: int = 16
    inline_reads: bool = True
    # Testing mode only (seqstore/protocol/faults.py): records calls, answers injected faults.
    faults: Faults | None = None
    # Counts every answered request for GET /metrics (seqstore/protocol/metrics.py).
    metrics: RequestMetrics | None = None


@dataclass(frozen=True)
class Lifecycle:
    """The process around the API: extra routes by exact path, and what runs at startup and
    shutdown (in a thread)."""

    internal_routes: Mapping[str, InternalRoute] = field(default_factory=dict)
    on_startup: Callable[[], None] | None = None
    on_shutdown: Callable[[], None] | None = None


class Dispatcher:
    """ASGI application answering every storage operation of the model: those `registry`
    declares, and NotSupportedOperationException for the others."""

    def __init__(
        self, registry: Registry, policies: Policies | None = None, lifecycle: Lifecycle | None = None
    ) -> None:
        self.registry = registry
        self.policies = policies = policies or Policies()
        self.lifecycle = lifecycle or Lifecycle()
        self.router = Router(storage_operations())
        self.executor = ThreadPoolExecutor(max_workers=policies.threads, thread_name_prefix="seqstore-api")
        # What every request reads, one attribute away (each lookup more is ~1% of a cached read).
        self._operations = {operation.name: operation for operation in registry}
        self._internal_routes = self.lifecycle.internal_routes
        self._verifier = policies.verifier
        self._rate_limiter = policies.rate_limiter
        self._concurrency_limiter = policies.concurrency_limiter
        self._cache = policies.response_cache
        self._auditing = policies.audit
        self._faults = policies.faults
        self._metrics = policies.metrics

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        on_startup, on_shutdown = self.lifecycle.on_startup, self.lifecycle.on_shutdown
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if on_startup:
                        await asyncio.get_running_loop().run_in_executor(None, on_startup)
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if on_shutdown:
                    await asyncio.get_running_loop().run_in_executor(None, on_shutdown)
                self.executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        x = Exchange(scope, receive, send)
        try:
            internal = self._internal_routes.get(x.raw_path)
            if internal is not None:
                x.internal = True
                x.status, payload = await internal(x)
                if isinstance(payload, str):  # a text document (the metrics)
                    await send_text(x.send, x.status, payload.encode(), x.request_id, METRICS_TYPE)
                else:
                    await send_json(x.send, x.status, json.dumps(payload).encode(), x.request_id)
                return
            self.route(x)
            await self.read(x)
            self.authenticate(x)
            self.limit(x)
            operation = self.implemented(x)
            if self._faults is not None:
                await self.intercept(x, operation, self._faults)
            answer = self.cached_answer(x, operation)
            if answer is not None:
                await send_json(x.send, x.status, answer, x.request_id)
                return
            params = self.parse(x)
            output = await self.invoke(operation, params)
            await self.respond(x, output)
        except ServiceError as exc:
            await self.refuse(x, exc)
        except Exception:
            await self.fail(x)
        finally:
            if x.counted_in is not None or x.body is not None:  # (a call less on most requests)
                self.release(x)
            if self._auditing and not x.internal:
                self.audit(x)
            if self._metrics is not None and not x.internal:
                self._metrics.observe(x)

    # --- the stages, in order ------------------------------------------------------------------

    def route(self, x: Exchange) -> None:
        """The operation the method and path name (UnknownOperationException if none), its
        path labels and its declaration."""
        model, x.labels = self.router.match(x.method, x.raw_path)
        x.model, x.operation = model, self._operations.get(model.name)

    async def read(self, x: Exchange) -> None:
        """The headers, and the body: a stream for the handler where the operation's input is
        the payload, else read whole (refusing more than MAX_JSON_BODY before reading it)."""
        assert x.model is not None
        x.headers = headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in x.scope["headers"]}
        length, timeout, receive = content_length(headers), self.policies.body_timeout, x.receive
        if payload_member(x.model):
            expected = declared_body_hash(headers)
            x.body = RequestBody(receive, length, timeout=timeout, expected_sha256=expected)
            return
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
                break
        x.raw_body = b"".join(chunks)
        x.bytes_in = size

    def authenticate(self, x: Exchange) -> None:
        """The caller's key from the request's signature; a read-only key may call reads only."""
        verifier = self._verifier
        if verifier is None:
            return
        x.key = key = verifier.verify(x.method, x.raw_path, x.raw_query, x.headers, x.raw_body)
        operation = x.operation
        if key.read_only and (operation is None or not operation.read_only):
            raise AccessDeniedException(
                f"Access key {key.access_key_id} is read-only and may not call {x.operation_name}"
            )

    def limit(self, x: Exchange) -> None:
        """The emulated quota of the operation, and a place among the requests in flight of its
        concurrency class (ThrottlingException when there is none)."""
        if self._rate_limiter is not None:
            self._rate_limiter.check(x.caller, x.operation_name)
        operation = x.operation
        if operation is None or operation.concurrency is None or self._concurrency_limiter is None:
            return
        if self._concurrency_limiter.enter(x.caller, operation.concurrency, operation.name):
            x.counted_in = operation.concurrency

    def implemented(self, x: Exchange) -> Operation:
        operation = x.operation
        if operation is None:
            raise NotSupportedOperationException(f"{x.operation_name} is not implemented by this seqstore server yet")
        return operation

    async def intercept(self, x: Exchange, operation: Operation, faults: Faults) -> None:
        """Testing mode: record the call's parameters, then answer the fault armed for it, if
        any: late, with its modelled exception, or both. Invalid calls fail as they would."""
        faults.record(operation.name, self.parse(x))
        fault = faults.take(operation.name)
        if fault is None:
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.error is not None:
            raise fault.exception(operation.name)

    def cached_answer(self, x: Exchange, operation: Operation) -> bytes | None:
        """A cacheable read's answer if the response cache holds it; else None, noting where to
        keep the answer about to be computed."""
        cache, raw_body = self._cache, x.raw_body
        if cache is None or not operation.cacheable or raw_body is None:
            return None
        x.cache_key = key = (operation.name, x.raw_path, x.raw_query, raw_body, x.headers.get("content-type"))
        x.cache_version = version = cache.version()
        answer = cache.get(key, version)
        if answer is not None:
            assert x.model is not None
            x.status = int(x.model.http.get("responseCode", 200))
        return answer

    def parse(self, x: Exchange) -> dict[str, Any]:
        """The handler's input: labels, query, headers and body, validated by the input shape."""
        model = x.model
        assert model is not None
        query = parse_query(x.raw_query)
        payload_name = payload_member(model)
        if x.body is not None and payload_name:
            raw_input, validator = collect_input(model, x.labels, query, x.headers, {})
            raw_input[payload_name] = x.body
        else:
            json_body = parse_body(x.raw_body or b"", x.headers, has_json_body(model))
            raw_input, validator = collect_input(model, x.labels, query, x.headers, json_body)
        params = validator.check(model.input_shape, raw_input, "") if model.input_shape else {}
        validator.raise_if_failed()
        return params

    async def invoke(self, operation: Operation, params: dict[str, Any]) -> Any:
        """Call the handler: async ones and reads on the event loop, writes in the pool."""
        if operation.is_async:
            return await operation.handler(params)
        if operation.read_only and self.policies.inline_reads:
            # A read is a few short queries: handing it to a thread costs more (GIL hand-offs
            # measured at 2.5x the requests/s) than running it here. Writes may wait for a
            # database lock, so they go to the pool.
            return operation.handler(params)
        return await asyncio.get_running_loop().run_in_executor(self.executor, operation.handler, params)

    async def respond(self, x: Exchange, output: dict[str, Any] | None) -> None:
        """Send the output, keeping a cacheable read's serialized answer."""
        model = x.model
        assert model is not None
        x.status = int(model.http.get("responseCode", 200))
        cache = self._cache
        if cache is not None and x.cache_key is not None:
            answer = serialize_output(model.output_shape, output or {})
            cache.put(x.cache_key, x.cache_version, answer)
            await send_json(x.send, x.status, answer, x.request_id)
        else:
            await send_output(x.send, model, x.status, output or {}, x.request_id)

    # --- endings -------------------------------------------------------------------------------

    async def refuse(self, x: Exchange, exc: ServiceError) -> None:
        """Answer a service error (once the response has started, the connection is cut)."""
        if x.response_started:
            raise exc
        x.status = exc.status
        if x.body is not None and exc.status < 500 and not isinstance(exc, RequestTimeoutException):
            # Leave the connection usable: the client is still sending the part.
            # But not a body longer than any part may be: answer at once instead.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(x.body.drain(MAX_DRAIN_BODY), timeout=30)
        await send_error(x.send, exc.status, exc.code, exc.message, x.request_id)

    async def fail(self, x: Exchange) -> None:
        """Answer an unexpected error as InternalServerException, with the request id to quote."""
        log.exception(
            "internal error in %s (request id %s)", x.operation_name, x.request_id,
            extra={"requestId": x.request_id, "operation": x.operation_name},
        )
        if x.response_started:
            raise  # the status line is out; the server closes the connection mid-body
        x.status = 500
        message = f"An internal error occurred; quote request id {x.request_id} when reporting it"
        await send_error(x.send, 500, "InternalServerException", message, x.request_id)

    def release(self, x: Exchange) -> None:
        """Give back the request's place in its concurrency class; count the body's bytes."""
        if x.counted_in is not None and self._concurrency_limiter is not None:
            self._concurrency_limiter.leave(x.caller, x.counted_in)
            x.counted_in = None
        if x.body is not None:
            x.bytes_in = x.body.received

    def audit(self, x: Exchange) -> None:
        """One JSON line on the seqstore.audit logger, when it logs at INFO (the JSON log format
        has the request's id, operation and status as fields of its record too)."""
        if audit_log.isEnabledFor(logging.INFO):
            entry = audit_entry(x)
            fields = {"requestId": x.request_id, "operation": entry["operation"], "status": x.status}
            audit_log.info(json.dumps(entry), extra=fields)


def audit_entry(x: Exchange) -> dict[str, Any]:
    """The audit log's record of a request: who called what on which resource, and how it
    ended. Never a secret or a signature."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "requestId": x.request_id,
        "accessKeyId": x.key.access_key_id if x.key else None,
        "operation": x.operation_name,
        "resource": x.operation.resource_arn(x.labels) if x.operation is not None else None,
        "status": x.status,
        "bytesIn": x.bytes_in,
        "bytesOut": x.bytes_out,
        "latencyMs": round((time.perf_counter() - x.started) * 1000, 2),
    }

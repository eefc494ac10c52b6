"""The ASGI entry point of the protocol layer. A request goes through named stages — route,
read, authenticate, limit, cache, parse, invoke, respond, and at the end audit — each a short
method reading and filling one `Exchange`. What a stage decides by operation it reads from the
operation's declaration (`operations.Operation`); handlers never see HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..config import PART_SIZE
from .auth import SigV4Verifier, declared_body_hash
from .cache import ResponseCache
from .errors import (
    AccessDeniedException,
    NotSupportedOperationException,
    RequestTimeoutException,
    ServiceError,
)
from .exchange import Exchange, Receive, Send, send_error, send_json, send_output
from .model import storage_operations
from .operations import Operation, Registry
from .parsing import collect_input, content_length, has_json_body, parse_body, parse_query, payload_member
from .parsing import read_body as read_small_body
from .quotas import ConcurrencyLimiter, RateLimiter
from .routing import Router
from .serialize import serialize_output
from .streams import RequestBody

log = logging.getLogger("seqstore.requests")
audit_log = logging.getLogger("seqstore.audit")

# An extra, non-model route: takes nothing, returns (status, JSON-able body).
InternalRoute = Callable[[], tuple[int, dict[str, Any]]]

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
        self.policies = policies or Policies()
        self.lifecycle = lifecycle or Lifecycle()
        self.router = Router(storage_operations())
        self.executor = ThreadPoolExecutor(max_workers=self.policies.threads, thread_name_prefix="seqstore-api")

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
            internal = self.lifecycle.internal_routes.get(x.raw_path)
            if internal is not None:
                x.internal = True
                x.status, payload = internal()
                await send_json(x.send, x.status, json.dumps(payload).encode(), x.request_id)
                return
            self.route(x)
            await self.read(x)
            self.authenticate(x)
            self.limit(x)
            operation = self.implemented(x)
            if await self.answer_from_cache(x, operation):
                return
            params = self.parse(x)
            output = await self.invoke(operation, params)
            await self.respond(x, output)
        except ServiceError as exc:
            await self.refuse(x, exc)
        except Exception:
            await self.fail(x)
        finally:
            self.release(x)
            self.audit(x)

    # --- the stages, in order ------------------------------------------------------------------

    def route(self, x: Exchange) -> None:
        """The operation the method and path name (UnknownOperationException if none), its
        path labels and its declaration."""
        x.model, x.labels = self.router.match(x.method, x.raw_path)
        x.operation = self.registry.get(x.model.name)

    async def read(self, x: Exchange) -> None:
        """The headers, and the body: read whole if small, else a stream for the handler."""
        assert x.model is not None
        x.headers = headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in x.scope["headers"]}
        timeout = self.policies.body_timeout
        if payload_member(x.model):
            expected = declared_body_hash(headers)
            x.body = RequestBody(x.receive, content_length(headers), timeout=timeout, expected_sha256=expected)
        else:
            x.raw_body = await read_small_body(x.receive, headers, timeout)
            x.bytes_in = len(x.raw_body)

    def authenticate(self, x: Exchange) -> None:
        """The caller's key from the request's signature; a read-only key may call reads only."""
        verifier = self.policies.verifier
        if verifier is None:
            return
        x.key = key = verifier.verify(x.method, x.raw_path, x.raw_query, x.headers, x.raw_body)
        if key.read_only and (x.operation is None or not x.operation.read_only):
            raise AccessDeniedException(
                f"Access key {key.access_key_id} is read-only and may not call {x.operation_name}"
            )

    def limit(self, x: Exchange) -> None:
        """The emulated quota of the operation, and a place among the requests in flight of its
        concurrency class (ThrottlingException when there is none)."""
        policies = self.policies
        if policies.rate_limiter is not None:
            policies.rate_limiter.check(x.caller, x.operation_name)
        limiter, operation = policies.concurrency_limiter, x.operation
        if limiter is None or operation is None or operation.concurrency is None:
            return
        if limiter.enter(x.caller, operation.concurrency, operation.name):
            x.counted_in = operation.concurrency

    def implemented(self, x: Exchange) -> Operation:
        if x.operation is None:
            raise NotSupportedOperationException(f"{x.operation_name} is not implemented by this seqstore server yet")
        return x.operation

    async def answer_from_cache(self, x: Exchange, operation: Operation) -> bool:
        """Answer a cacheable read from the response cache if it holds the answer, or note
        where to keep the answer it is about to compute."""
        cache = self.policies.response_cache
        if cache is None or not operation.cacheable or x.raw_body is None:
            return False
        x.cache_key = (operation.name, x.raw_path, x.raw_query, x.raw_body, x.headers.get("content-type"))
        x.cache_version = cache.version()
        answer = cache.get(x.cache_key, x.cache_version)
        if answer is None:
            return False
        assert x.model is not None
        x.status = int(x.model.http.get("responseCode", 200))
        await send_json(x.send, x.status, answer, x.request_id)
        return True

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
        cache = self.policies.response_cache
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
        log.exception("internal error in %s (request id %s)", x.operation_name, x.request_id)
        if x.response_started:
            raise  # the status line is out; the server closes the connection mid-body
        x.status = 500
        message = f"An internal error occurred; quote request id {x.request_id} when reporting it"
        await send_error(x.send, 500, "InternalServerException", message, x.request_id)

    def release(self, x: Exchange) -> None:
        """Give back the request's place in its concurrency class; count the body's bytes."""
        if x.counted_in is not None and self.policies.concurrency_limiter is not None:
            self.policies.concurrency_limiter.leave(x.caller, x.counted_in)
            x.counted_in = None
        if x.body is not None:
            x.bytes_in = x.body.received

    def audit(self, x: Exchange) -> None:
        if self.policies.audit and not x.internal and audit_log.isEnabledFor(logging.INFO):
            audit_log.info(json.dumps(audit_entry(x)))


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

"""Testing mode's control routes (docs/testing.md), mounted only when the settings say
`testing` and answered only to loopback clients that send the server's token:

- `POST /_seqstore/testing/reset`: every resource, job and blob gone, faults and recorded calls
  cleared, quotas refilled, the response cache emptied;
- `POST /_seqstore/testing/faults` `{"operation", "error", "times", "delay", "message"}`: arm a
  fault (seqstore/protocol/faults.py); `GET` lists those armed;
- `GET /_seqstore/testing/calls?operation=NAME`: the parameters of the calls received.

And `ingest = sync`: the calls that queue a job answer once it has ended."""

from __future__ import annotations

import asyncio
import functools
import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from ..errors import ServiceError, ValidationException
from ..protocol.cache import ResponseCache
from ..protocol.dispatch import InternalRoute
from ..protocol.exchange import Exchange
from ..protocol.faults import Faults
from ..protocol.operations import Operation, Registry
from ..protocol.quotas import RateLimiter
from ..store import reset
from ..store.domain import Domain

log = logging.getLogger("seqstore.testing")

PREFIX = "/_seqstore/testing"
TOKEN_HEADER = b"x-seqstore-testing-token"
MAX_CONTROL_BODY = 64 * 1024
# How long a reset waits for running jobs to end before erasing under them.
RESET_JOB_WAIT = 60.0
# The calls that queue a job: with `ingest = sync` they answer once it has ended.
JOB_STARTING = (
    "CompleteMultipartReadSetUpload",
    "StartReadSetImportJob",
    "StartReferenceImportJob",
    "StartReadSetActivationJob",
    "StartReadSetExportJob",
)
SYNC_WAIT = 600.0


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_loopback_client(x: Exchange) -> bool:
    client = x.scope.get("client")
    if not client:
        return False  # a Unix socket or an unknown peer: not known to be this machine
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


async def read_json(x: Exchange) -> dict[str, Any]:
    chunks, size = [], 0
    while True:
        message = await x.receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "the connection closed before the body was received")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_CONTROL_BODY:
            raise Refused(400, f"a control body may have at most {MAX_CONTROL_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise Refused(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return body


def control_routes(
    domain: Domain,
    faults: Faults,
    token: str,
    limiter: RateLimiter | None,
    cache: ResponseCache | None,
) -> dict[str, InternalRoute]:
    """The control routes of a testing server whose clients must send `token`."""
    expected = token.encode()

    def guarded(methods: tuple[str, ...], answer: Callable[[Exchange], Awaitable[Any]]) -> InternalRoute:
        async def route(x: Exchange) -> tuple[int, Any]:
            try:
                if not is_loopback_client(x):
                    raise Refused(403, "the testing control routes answer loopback clients only")
                given = dict(x.scope["headers"]).get(TOKEN_HEADER, b"")
                if not hmac.compare_digest(given, expected):
                    raise Refused(403, f"missing or wrong {TOKEN_HEADER.decode()} header")
                if x.method not in methods:
                    raise Refused(405, f"{x.raw_path} takes {' or '.join(methods)}, not {x.method}")
                return 200, await answer(x)
            except Refused as exc:
                return exc.status, {"error": "Refused", "message": str(exc)}
            except ServiceError as exc:
                return exc.status, {"error": exc.code, "message": exc.message}

        return route

    def erase() -> dict[str, Any]:
        # Jobs a worker holds are let finish; those only queued are erased with the rest.
        finished = reset.wait_for_jobs(domain.db, timeout=RESET_JOB_WAIT, held_only=True)
        if not finished:
            log.warning("reset: jobs still running after %.0f s are erased under them", RESET_JOB_WAIT)
        reset.erase_everything(domain.db, domain.blobs, domain.settings.account_id)
        faults.clear()
        if limiter is not None:
            limiter.reset()
        if cache is not None:
            cache.clear()
        return {"reset": True, "jobsInterrupted": not finished}

    async def reset_route(x: Exchange) -> dict[str, Any]:
        return await asyncio.get_running_loop().run_in_executor(None, erase)

    async def faults_route(x: Exchange) -> Any:
        if x.method == "GET":
            return {"faults": faults.armed()}
        body = await read_json(x)
        unknown = set(body) - {"operation", "error", "times", "delay", "message"}
        if unknown:
            raise ValidationException(f"unknown fields {sorted(unknown)}")
        if not isinstance(body.get("operation"), str):
            raise ValidationException("operation: the name of an operation is required")
        fault = faults.arm(
            body["operation"], body.get("error"), body.get("times", 1), body.get("delay", 0.0),
            body.get("message") or "",
        )
        return {"armed": vars(fault)}

    async def calls_route(x: Exchange) -> Any:
        operation = parse_qs(x.raw_query).get("operation", [None])[0]
        # Parameters may hold timestamps (list filters): as the text they came as.
        return {"calls": json.loads(json.dumps(faults.calls(operation), default=str))}

    return {
        f"{PREFIX}/reset": guarded(("POST",), reset_route),
        f"{PREFIX}/faults": guarded(("GET", "POST"), faults_route),
        f"{PREFIX}/calls": guarded(("GET",), calls_route),
    }


def synchronous_jobs(registry: Registry, domain: Domain) -> Registry:
    """`registry` with the calls that queue a job answering once the jobs they queued ended."""

    def waiting(op: Operation) -> Operation:
        if op.name not in JOB_STARTING or op.is_async:
            return op
        handler = op.handler

        @functools.wraps(handler)
        def finished(params: dict[str, Any]) -> Any:
            before = reset.last_job(domain.db)
            output = handler(params)
            if not reset.wait_for_jobs(domain.db, before, timeout=SYNC_WAIT):
                log.warning("%s: its job is still running after %.0f s; answering", op.name, SYNC_WAIT)
            return output

        return replace(op, handler=finished)

    return Registry(waiting(op) for op in registry)

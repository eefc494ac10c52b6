"""The dispatcher's stages one at a time (route, read, authenticate, limit, cache, parse, invoke,
respond, release, audit) on in-memory ASGI messages, and the sequence of them in `_http`."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from seqstore.errors import (
    AccessDeniedException,
    NotSupportedOperationException,
    ServiceError,
    UnknownOperationException,
    ValidationException,
)
from seqstore.protocol.cache import ResponseCache
from seqstore.protocol.dispatch import Dispatcher, Lifecycle, Policies, audit_entry
from seqstore.protocol.exchange import Exchange
from seqstore.protocol.operations import OMICS_ARN, Operation, Registry
from seqstore.protocol.quotas import ConcurrencyLimiter, RateLimiter
from seqstore.protocol.streams import RequestBody
from seqstore.store.access_keys import AccessKey

STORE_ID = "1234567890"
calls: list[tuple[str, dict[str, Any], str]] = []


def get_sequence_store(context: str, params: dict[str, Any]) -> dict[str, Any]:
    calls.append(("GetSequenceStore", params, threading.current_thread().name))
    return {"id": params["id"], "arn": "a", "creationTime": datetime(2024, 1, 1, tzinfo=UTC)}


def delete_sequence_store(context: str, params: dict[str, Any]) -> dict[str, Any]:
    calls.append(("DeleteSequenceStore", params, threading.current_thread().name))
    return {}


async def upload_read_set_part(context: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"checksum": "c"}


OPERATIONS = Registry([
    Operation("GetSequenceStore", get_sequence_store, read_only=True, cacheable=True,
              resource=OMICS_ARN + "sequenceStore/{id}"),
    Operation("DeleteSequenceStore", delete_sequence_store, read_only=False, resource=OMICS_ARN + "sequenceStore/{id}",
              quota_tps=1.0),
    Operation("UploadReadSetPart", upload_read_set_part, read_only=False, concurrency="parts"),
]).bind("context", region="r", account="a")


class Verifier:
    def __init__(self, key: AccessKey) -> None:
        self.key = key

    def verify(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
               body: bytes | None) -> AccessKey:
        return self.key


def dispatcher(**policies: Any) -> Dispatcher:
    return Dispatcher(OPERATIONS, Policies(**policies))


def exchange(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             sent: list[dict[str, Any]] | None = None) -> Exchange:
    scope = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        (sent if sent is not None else []).append(message)

    return Exchange(scope, receive, send)


def routed(d: Dispatcher, method: str, path: str, **kwargs: Any) -> Exchange:
    x = exchange(method, path, **kwargs)
    d.route(x)
    asyncio.run(d.read(x))
    return x


def test_route_finds_the_operation_its_labels_and_its_declaration() -> None:
    d = dispatcher()
    x = exchange("GET", f"/sequencestore/{STORE_ID}")
    d.route(x)
    assert x.model is not None and x.model.name == "GetSequenceStore"
    assert x.labels == {"id": STORE_ID} and x.operation is OPERATIONS["GetSequenceStore"]
    undeclared = exchange("POST", "/sequencestores")
    d.route(undeclared)
    assert undeclared.operation_name == "ListSequenceStores" and undeclared.operation is None
    with pytest.raises(UnknownOperationException):
        d.route(exchange("GET", "/nothing/here"))


def test_read_takes_a_small_body_whole_and_leaves_a_payload_to_stream() -> None:
    d = dispatcher()
    x = routed(d, "GET", f"/sequencestore/{STORE_ID}", body=b"{}", headers={"Content-Type": "application/json"})
    assert x.raw_body == b"{}" and x.bytes_in == 2 and x.headers["content-type"] == "application/json"
    part = routed(d, "PUT", f"/sequencestore/{STORE_ID}/upload/1234567891/part", body=b"ACGT",
                  headers={"Content-Length": "4"})
    assert isinstance(part.body, RequestBody) and part.raw_body is None
    too_big = exchange("GET", f"/sequencestore/{STORE_ID}", headers={"Content-Length": str(2 << 20)})
    d.route(too_big)
    with pytest.raises(ValidationException, match="at most"):
        asyncio.run(d.read(too_big))


def test_authenticate_lets_a_read_only_key_call_declared_reads_only() -> None:
    viewer = AccessKey("AKVIEWER", "secret", read_only=True)
    d = dispatcher(verifier=cast(Any, Verifier(viewer)))
    read = routed(d, "GET", f"/sequencestore/{STORE_ID}")
    d.authenticate(read)
    assert read.key is viewer and read.caller == "AKVIEWER"
    for method, path in (("DELETE", f"/sequencestore/{STORE_ID}"), ("POST", "/sequencestores")):
        x = routed(d, method, path)  # a write, and an operation this registry does not declare
        with pytest.raises(AccessDeniedException, match=f"may not call {x.operation_name}"):
            d.authenticate(x)
    unsigned = routed(dispatcher(), "DELETE", f"/sequencestore/{STORE_ID}")
    dispatcher().authenticate(unsigned)
    assert unsigned.key is None and unsigned.caller == "-"


def test_limit_applies_the_quota_and_holds_a_place_in_the_concurrency_class() -> None:
    d = dispatcher(rate_limiter=RateLimiter(OPERATIONS.quota_rates()),
                   concurrency_limiter=ConcurrencyLimiter({"parts": 1}))
    d.limit(routed(d, "DELETE", f"/sequencestore/{STORE_ID}"))
    with pytest.raises(ServiceError, match="1 requests per second") as throttled:
        d.limit(routed(d, "DELETE", f"/sequencestore/{STORE_ID}"))
    assert throttled.value.code == "ThrottlingException"
    part_path = f"/sequencestore/{STORE_ID}/upload/1234567891/part"
    first = routed(d, "PUT", part_path)
    d.limit(first)
    assert first.counted_in == "parts"
    with pytest.raises(ServiceError, match="concurrent UploadReadSetPart requests"):
        d.limit(routed(d, "PUT", part_path))
    d.release(first)
    assert first.counted_in is None
    d.limit(routed(d, "PUT", part_path))  # the place is free again


def test_implemented_refuses_an_undeclared_operation() -> None:
    d = dispatcher()
    with pytest.raises(NotSupportedOperationException, match="ListSequenceStores is not implemented"):
        d.implemented(routed(d, "POST", "/sequencestores"))


def test_parse_validates_and_types_the_input() -> None:
    d = dispatcher()
    assert d.parse(routed(d, "GET", f"/sequencestore/{STORE_ID}")) == {"id": STORE_ID}
    with pytest.raises(ValidationException):
        d.parse(routed(d, "GET", "/sequencestore/x"))  # not a store id


def test_invoke_runs_reads_on_the_loop_writes_in_the_pool_and_awaits_async_handlers() -> None:
    d = dispatcher()
    calls.clear()

    async def main() -> list[Any]:
        return [
            await d.invoke(OPERATIONS["GetSequenceStore"], {"id": STORE_ID}),
            await d.invoke(OPERATIONS["DeleteSequenceStore"], {"id": STORE_ID}),
            await d.invoke(OPERATIONS["UploadReadSetPart"], {}),
        ]

    outputs = asyncio.run(main())
    assert outputs[1:] == [{}, {"checksum": "c"}]
    threads = {name: thread for name, _, thread in calls}
    assert threads["GetSequenceStore"] == threading.main_thread().name
    assert threads["DeleteSequenceStore"].startswith("seqstore-api")
    calls.clear()
    asyncio.run(dispatcher(inline_reads=False).invoke(OPERATIONS["GetSequenceStore"], {"id": STORE_ID}))
    assert calls[0][2].startswith("seqstore-api")


def test_a_cacheable_read_is_answered_from_the_cache_after_its_first_answer() -> None:
    cache = ResponseCache(lambda: 1)
    d = dispatcher(response_cache=cache)
    operation = OPERATIONS["GetSequenceStore"]
    first_sent: list[dict[str, Any]] = []
    first = routed(d, "GET", f"/sequencestore/{STORE_ID}", sent=first_sent)
    assert d.cached_answer(first, operation) is None and first.cache_key is not None
    asyncio.run(d.respond(first, get_sequence_store("context", d.parse(first))))
    second_sent: list[dict[str, Any]] = []
    second = routed(d, "GET", f"/sequencestore/{STORE_ID}", sent=second_sent)
    assert d.cached_answer(second, operation) == first_sent[1]["body"] and second.status == 200
    write = routed(d, "DELETE", f"/sequencestore/{STORE_ID}")
    assert d.cached_answer(write, OPERATIONS["DeleteSequenceStore"]) is None
    assert write.cache_key is None


def test_the_audit_entry_names_the_caller_the_operation_and_its_resource() -> None:
    d = dispatcher(verifier=cast(Any, Verifier(AccessKey("AKADMIN", "secret"))))
    x = routed(d, "GET", f"/sequencestore/{STORE_ID}")
    d.authenticate(x)
    x.status = 200
    entry = audit_entry(x)
    assert entry["accessKeyId"] == "AKADMIN" and entry["operation"] == "GetSequenceStore"
    assert entry["resource"] == f"arn:aws:omics:r:a:sequenceStore/{STORE_ID}"
    assert entry["status"] == 200 and entry["bytesIn"] == 0 and "secret" not in json.dumps(entry)
    unrouted = exchange("GET", "/nothing")
    assert audit_entry(unrouted)["operation"] == "-" and audit_entry(unrouted)["resource"] is None


def test_http_runs_the_stages_in_order_and_audits_each_request(caplog: pytest.LogCaptureFixture) -> None:
    async def ok(_: Any) -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok"}

    health = Lifecycle({"/_seqstore/health": ok})
    d = Dispatcher(OPERATIONS, Policies(), health)

    def call(method: str, path: str) -> tuple[int, dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        x = exchange(method, path, sent=sent)
        asyncio.run(d(x.scope, x.receive, x._send))
        return sent[0]["status"], dict(sent[0]["headers"])

    with caplog.at_level(logging.INFO, logger="seqstore.audit"):
        assert call("GET", f"/sequencestore/{STORE_ID}")[0] == 200
        status, headers = call("POST", "/sequencestores")
        assert status == 405 and headers[b"x-amzn-errortype"] == b"NotSupportedOperationException"
        assert call("GET", "/sequencestore/x")[0] == 400
        assert call("GET", "/_seqstore/health")[0] == 200
    entries = [json.loads(r.getMessage()) for r in caplog.records if r.name == "seqstore.audit"]
    assert [(e["operation"], e["status"]) for e in entries] == [
        ("GetSequenceStore", 200), ("ListSequenceStores", 405), ("GetSequenceStore", 400)
    ]  # the health check is not audited

"""A 500-request slice of the model-driven fuzzing (tests/fuzzing, run whole by bench/fuzz.py)
against a fresh server: no answer may be a 5xx (or missing), and the invalid requests must leave
the victim store's data as it was."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.fuzzing.model import OPERATIONS
from tests.fuzzing.resources import fuzz_client, setup
from tests.fuzzing.runner import run
from tests.fuzzing.snapshot import compare, snapshot
from tests.helpers.auth import signed_request
from tests.helpers.clients import KEY, SECRET
from tests.helpers.servers import Server, running

REQUESTS = 500
SEED = 20261123


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(Server(tmp_path_factory.mktemp("fuzz") / "data")) as server:
        yield server


@pytest.fixture(scope="module")
def report(fresh_server: Server):  # type: ignore[no-untyped-def]
    return run(fresh_server.url, KEY, SECRET, requests=REQUESTS, seed=SEED,
               buckets_dir=fresh_server.data_dir / "buckets")


def test_no_fuzzed_request_gets_a_5xx_or_no_answer(report, fresh_server: Server) -> None:  # type: ignore[no-untyped-def]
    overall = report.overall
    assert sum(overall.values()) == REQUESTS
    assert overall["5xx"] == 0 and overall["none"] == 0, report.render() + "\n" + fresh_server.logs()[-4000:]
    assert "Traceback" not in fresh_server.logs(), fresh_server.logs()[-4000:]


def test_the_invalid_requests_leave_the_victims_data_unchanged(report) -> None:  # type: ignore[no-untyped-def]
    assert report.data_changes == [], report.render()


def test_the_slice_reaches_every_storage_operation_with_valid_and_invalid_requests(report) -> None:  # type: ignore[no-untyped-def]
    assert set(report.by_operation) == {op.name for op in OPERATIONS}
    assert len(OPERATIONS) == 41
    categories = report.by_category
    assert categories["valid"]["2xx"] > 0
    for name in ("constraint", "type", "label", "bytes"):
        assert categories[name]["4xx"] > 0, (name, report.render())
    # Invalid requests are refused, not accepted.
    assert report.accepted_invalid == [], report.render()


def test_the_snapshot_notices_a_change_to_the_victim(report, fresh_server: Server) -> None:  # type: ignore[no-untyped-def]
    # The "data unchanged" oracle is not vacuous: changes made behind its back are reported.
    client = fuzz_client(fresh_server.url, KEY, SECRET, "us-east-1")
    res = setup(client, "us-east-1", random.Random(1), fresh_server.data_dir / "buckets")
    before = snapshot(client, res)
    assert compare(before, snapshot(client, res), res, set(), set()) == []
    client.tag_resource(resourceArn=res.victim.read_set_arn, tags={"changed": "yes"})
    client.update_sequence_store(id=res.victim.store, description="changed")
    client.create_sequence_store(name="not-from-a-valid-request")
    problems = compare(before, snapshot(client, res), res, set(), set())
    assert any(p.startswith("tags") for p in problems), problems
    assert any(p.startswith("victimStore") for p in problems), problems
    assert any(p.startswith("sequence stores: unexpected") for p in problems), problems


# Inputs the fuzzer found mishandled, pinned (each was a 5xx or was accepted before the fix).


def _store(fresh_server: Server) -> dict[str, str]:
    client = fuzz_client(fresh_server.url, KEY, SECRET, "us-east-1")
    created = client.create_sequence_store(name="pinned")
    return {"id": created["id"], "arn": created["arn"],
            "access_point": created["s3Access"]["s3AccessPointArn"]}


def test_a_lone_surrogate_in_a_json_string_is_a_validation_error(fresh_server: Server) -> None:
    store = _store(fresh_server)
    cases = [
        ("PUT", "/s3accesspolicy/" + quote(store["access_point"], safe=""), b'{"s3AccessPolicy": "\\ud800"}'),
        ("POST", "/tags/" + quote(store["arn"], safe=""), b'{"tags": {"\\udfff": "v"}}'),
        ("POST", "/sequencestore", b'{"name": "n", "description": "lone \\ud800 surrogate"}'),
    ]
    for method, path, body in cases:
        response = signed_request(fresh_server.url, method, path, body=body,
                                  headers={"Content-Type": "application/json"})
        assert response.status == 400, (path, response)
        assert response.error_type == "ValidationException" and "surrogate" in response.json()["message"]


@pytest.mark.parametrize("value", [" 7", "+5", "1_0", "%D9%A3", "%EF%BC%97", "7%20", "9" * 5000])
def test_an_integer_in_the_query_string_is_ascii_digits_only(fresh_server: Server, value: str) -> None:
    response = signed_request(fresh_server.url, "POST", f"/sequencestores?maxResults={quote(value, safe='%')}",
                              body=b"{}", headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.error_type == "ValidationException", response
    assert "maxResults" in response.json()["message"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_json_body_must_be_utf_8(fresh_server: Server, encoding: str) -> None:
    body = json.dumps({"name": "not-utf-8"}).encode(encoding)
    response = signed_request(fresh_server.url, "POST", "/sequencestore", body=body,
                              headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.error_type == "ValidationException", response

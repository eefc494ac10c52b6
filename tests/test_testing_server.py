"""seqstore.testing.OmicsServer, driven as a user's test suite drives it: boto3 over HTTP, the
environment for code that builds its own clients, reset, fault injection and the record of calls
(docs/testing.md)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from seqstore.api.testing import control_routes
from seqstore.protocol.exchange import Exchange
from seqstore.protocol.faults import Faults
from seqstore.testing import OmicsServer
from tests.helpers.fastq import fastq_text
from tests.helpers.names import ROLE_ARN
from tests.helpers.readsets import upload, wait_for_status
from tests.helpers.servers import Server, running
from tests.helpers.testing_kit import omics_server, put_source

NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def kit() -> Iterator[OmicsServer]:
    with omics_server() as server:
        yield server


@pytest.fixture
def omics(kit: OmicsServer) -> Any:
    kit.reset()
    return kit.client(config=NO_RETRIES)


def test_the_server_runs_on_loopback_and_removes_its_data_dir_when_stopped() -> None:
    server = omics_server()
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        data_dir = server.data_dir
        assert data_dir is not None and data_dir.is_dir()
        created = server.client().create_sequence_store(name="first")
        assert created["name"] == "first"
        assert requests.get(f"{server.url}/_seqstore/health", timeout=5).json()["status"] == "ok"
    assert not data_dir.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/_seqstore/health", timeout=5)


def test_the_server_checks_signatures_with_its_test_key(kit: OmicsServer) -> None:
    stranger = boto3.session.Session().client(
        "omics", endpoint_url=kit.url, region_name="us-east-1", aws_access_key_id="AKIDSOMEONEELSE",
        aws_secret_access_key="x", config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(stranger.exceptions.ClientError) as excinfo:
        stranger.list_sequence_stores()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_client_leaves_the_environment_alone_and_apply_env_restores_it(
    kit: OmicsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTHEUSERSOWN")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "the-users-token")
    monkeypatch.delenv("AWS_ENDPOINT_URL_OMICS", raising=False)
    before = dict(os.environ)
    kit.client().list_sequence_stores()
    assert dict(os.environ) == before
    assert kit.env["AWS_ENDPOINT_URL_OMICS"] == kit.url
    assert kit.env["AWS_DISABLE_HOST_PREFIX_INJECTION"] == "true"
    with kit.apply_env() as env:
        assert os.environ["AWS_ACCESS_KEY_ID"] == env["AWS_ACCESS_KEY_ID"] == kit.access_key_id
        assert "AWS_SESSION_TOKEN" not in os.environ
        # Code under test that builds its own client from the environment reaches the server.
        own = boto3.client("omics")
        store = own.create_sequence_store(name="from-env")
        assert own.get_sequence_store(id=store["id"])["name"] == "from-env"
    assert dict(os.environ) == before


def test_client_merges_a_given_config_and_refuses_services_it_does_not_serve(kit: OmicsServer) -> None:
    client = kit.client(config=Config(retries={"total_max_attempts": 1}, read_timeout=7))
    assert client.meta.config.inject_host_prefix is False and client.meta.config.read_timeout == 7
    with pytest.raises(ValueError, match="not 'sqs'"):
        kit.client("sqs")


def test_the_s3_client_reads_a_stores_objects_through_the_s3_plane(kit: OmicsServer, omics: Any) -> None:
    store = omics.create_sequence_store(name="s3-view")
    bucket = store["s3Access"]["s3Uri"].removeprefix("s3://").split("/", 1)[0]
    assert kit.env["AWS_ENDPOINT_URL_S3"] == kit.url
    listed = kit.client("s3").list_objects_v2(Bucket=bucket)
    assert listed["KeyCount"] == 0  # an empty store: a bucket with nothing in it


def test_reset_removes_every_resource_and_its_bytes(kit: OmicsServer, omics: Any) -> None:
    store = omics.create_sequence_store(name="to-be-reset")
    reference_store = omics.create_reference_store(name="refs")
    omics.tag_resource(resourceArn=store["arn"], tags={"team": "a"})
    read_set_id = upload(omics, store["id"], "FASTQ", fastq_text(20, seed=1))
    assert wait_for_status(omics, store["id"], read_set_id)["status"] == "ACTIVE"
    assert kit.data_dir is not None
    kit.reset()
    assert kit.calls() == []
    assert omics.list_sequence_stores()["sequenceStores"] == []
    assert omics.list_reference_stores()["referenceStores"] == []
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.get_sequence_store(id=store["id"])
    with pytest.raises(omics.exceptions.ResourceNotFoundException):
        omics.get_read_set_metadata(sequenceStoreId=store["id"], id=read_set_id)
    blobs = kit.data_dir / "blobs"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))
    # The one reference store an account may have can be created again.
    assert omics.create_reference_store(name="again")["id"] != reference_store["id"]


def test_reset_refills_the_emulated_quotas() -> None:
    with omics_server(emulate_quotas=True) as server:
        omics = server.client(config=NO_RETRIES)
        omics.create_sequence_store(name="one")  # CreateSequenceStore: 1 request a second
        with pytest.raises(omics.exceptions.ThrottlingException):
            omics.create_sequence_store(name="two")
        server.reset()
        assert omics.create_sequence_store(name="three")["name"] == "three"


def test_inject_fails_the_next_n_calls_with_the_named_exception(kit: OmicsServer, omics: Any) -> None:
    kit.inject("ListSequenceStores", "ThrottlingException", times=2, message="slow down")
    for _ in range(2):
        with pytest.raises(omics.exceptions.ThrottlingException, match="slow down") as excinfo:
            omics.list_sequence_stores()
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert omics.list_sequence_stores()["sequenceStores"] == []
    kit.inject("CreateSequenceStore", "ServiceQuotaExceededException")
    with pytest.raises(omics.exceptions.ServiceQuotaExceededException, match="injected into CreateSequenceStore"):
        omics.create_sequence_store(name="refused")
    assert omics.list_sequence_stores()["sequenceStores"] == []  # the failed call created nothing


def test_a_retrying_client_rides_out_an_injected_fault(kit: OmicsServer, omics: Any) -> None:
    kit.inject("GetSequenceStore", "InternalServerException", times=2)
    store = omics.create_sequence_store(name="retried")
    retrying = kit.client(config=Config(retries={"mode": "standard", "max_attempts": 3}))
    assert retrying.get_sequence_store(id=store["id"])["name"] == "retried"
    assert len(kit.calls("GetSequenceStore")) == 3


def test_inject_a_delay(kit: OmicsServer, omics: Any) -> None:
    kit.inject("ListSequenceStores", None, delay=0.3)
    started = time.monotonic()
    omics.list_sequence_stores()
    late = time.monotonic() - started
    started = time.monotonic()
    omics.list_sequence_stores()
    assert late >= 0.3 and time.monotonic() - started < late


def test_inject_refuses_what_the_model_does_not_list(kit: OmicsServer) -> None:
    with pytest.raises(ValueError, match="lists no 'ConflictException' for ListSequenceStores; it lists"):
        kit.inject("ListSequenceStores", "ConflictException")
    with pytest.raises(ValueError, match="'ListBuckets' is not a storage operation"):
        kit.inject("ListBuckets", "ThrottlingException")
    with pytest.raises(ValueError, match="times: must be a positive integer"):
        kit.inject("ListSequenceStores", "ThrottlingException", times=0)
    with pytest.raises(ValueError, match="an error to answer, or a delay"):
        kit.inject("ListSequenceStores", None)


def test_calls_return_what_the_server_received(kit: OmicsServer, omics: Any) -> None:
    store = omics.create_sequence_store(name="recorded", description="d")
    omics.get_sequence_store(id=store["id"])
    omics.get_sequence_store(id=store["id"])  # answered from the response cache: still recorded
    created = kit.calls("CreateSequenceStore")
    assert len(created) == 1 and created[0]["name"] == "recorded" and created[0]["description"] == "d"
    assert kit.calls("GetSequenceStore") == [{"id": store["id"]}, {"id": store["id"]}]
    assert [c["operation"] for c in kit.calls()] == ["CreateSequenceStore", "GetSequenceStore", "GetSequenceStore"]


def test_control_routes_need_the_servers_token(kit: OmicsServer) -> None:
    for token in ({}, {"x-seqstore-testing-token": "wrong"}):
        answer = requests.post(f"{kit.url}/_seqstore/testing/reset", headers=token, timeout=5)
        assert answer.status_code == 403 and "x-seqstore-testing-token" in answer.json()["message"]
    good = {"x-seqstore-testing-token": kit._token}
    answer = requests.get(f"{kit.url}/_seqstore/testing/reset", headers=good, timeout=5)
    assert answer.status_code == 405 and "takes POST" in answer.json()["message"]


def test_control_routes_answer_loopback_clients_only() -> None:
    routes = control_routes(None, Faults(), "token", None, None)  # type: ignore[arg-type]

    def call(client: tuple[str, int]) -> tuple[int, Any]:
        scope = {"type": "http", "method": "GET", "path": "/_seqstore/testing/calls", "query_string": b"",
                 "headers": [(b"x-seqstore-testing-token", b"token")], "client": client}
        x = Exchange(scope, None, None)  # type: ignore[arg-type]
        return asyncio.run(routes["/_seqstore/testing/calls"](x))

    status, body = call(("10.1.2.3", 5000))
    assert status == 403 and "loopback clients only" in body["message"]
    assert call(("127.0.0.1", 5000)) == (200, {"calls": []})
    assert call(("::1", 5000))[0] == 200


def test_control_routes_are_off_unless_the_server_is_in_testing_mode(tmp_path: Any) -> None:
    with running(Server(tmp_path / "data")) as server:
        answer = requests.post(f"{server.url}/_seqstore/testing/reset", timeout=5)
        assert answer.status_code == 404
        assert answer.headers["x-amzn-errortype"] == "UnknownOperationException"
        assert requests.get(f"{server.url}/_seqstore/health", timeout=5).status_code == 200


def test_sync_ingest_answers_once_the_read_set_is_active() -> None:
    with omics_server(ingest="sync") as server:
        omics = server.client()
        store = omics.create_sequence_store(name="sync")
        read_set_id = upload(omics, store["id"], "FASTQ", fastq_text(50, seed=2))
        metadata = omics.get_read_set_metadata(sequenceStoreId=store["id"], id=read_set_id)
        assert metadata["status"] == "ACTIVE" and metadata["sequenceInformation"]["totalReadCount"] == 50
        assert json.dumps(server.calls("CompleteMultipartReadSetUpload"))  # JSON all through
        uri = put_source(server, "runs", "sample.fastq", fastq_text(30, seed=3))
        source = {"sourceFiles": {"source1": uri}, "sourceFileType": "FASTQ", "subjectId": "s", "sampleId": "x"}
        job = omics.start_read_set_import_job(sequenceStoreId=store["id"], roleArn=ROLE_ARN, sources=[source])
        got = omics.get_read_set_import_job(sequenceStoreId=store["id"], id=job["id"])
        assert got["status"] == "COMPLETED" and got["sources"][0]["status"] == "FINISHED"
        reference_store = omics.create_reference_store(name="refs")
        fasta = put_source(server, "refs", "genome.fa", b">chr1\n" + b"ACGT" * 100 + b"\n")
        imported = omics.start_reference_import_job(
            referenceStoreId=reference_store["id"], roleArn=ROLE_ARN,
            sources=[{"sourceFile": fasta, "name": "genome"}],
        )
        got = omics.get_reference_import_job(referenceStoreId=reference_store["id"], id=imported["id"])
        assert got["status"] == "COMPLETED"


def test_async_ingest_is_the_default(kit: OmicsServer, omics: Any) -> None:
    store = omics.create_sequence_store(name="async")
    read_set_id = upload(omics, store["id"], "FASTQ", fastq_text(20000, seed=4))
    statuses = {omics.get_read_set_metadata(sequenceStoreId=store["id"], id=read_set_id)["status"]}
    statuses.add(wait_for_status(omics, store["id"], read_set_id)["status"])
    assert statuses == {"PROCESSING_UPLOAD", "ACTIVE"}

"""Imports from and exports to a real S3-compatible endpoint: moto's server mode runs as a
separate process on a loopback port, and seqstore is started with SEQSTORE_S3_ENDPOINT_URL
pointing at it (credentials from the standard AWS environment variables)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.access_logs import OBJECT_NAME, parse_records
from tests.helpers.backends import S3_CREDENTIALS, shared_moto
from tests.helpers.clients import make_client, s3_client
from tests.helpers.data import gz, md5
from tests.helpers.fastq import fastq_counts, seed_named_paired_fastq
from tests.helpers.jobs import fastq_source, import_and_wait, wait_for_job
from tests.helpers.names import unique
from tests.helpers.readsets import download, ingest
from tests.helpers.servers import Server, running


@pytest.fixture(scope="module")
def s3_endpoint() -> str:
    """moto's S3 in server mode (the session's, shared with servers that keep blobs in S3)."""
    return shared_moto().url


@pytest.fixture(scope="module")
def s3(s3_endpoint: str):  # type: ignore[no-untyped-def]
    """A boto3 S3 client of the moto endpoint, as the user's own tooling would have."""
    return shared_moto().client()


@pytest.fixture(scope="module")
def s3_server(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """seqstore whose s3:// URIs lead to the moto endpoint."""
    env = {"SEQSTORE_S3_ENDPOINT_URL": s3_endpoint, **S3_CREDENTIALS}
    with running(Server(tmp_path_factory.mktemp("s3-seqstore") / "data", extra_env=env)) as server:
        yield server


def test_reads_are_imported_from_s3_and_a_missing_key_fails_only_its_source(s3, s3_server: Server) -> None:
    omics = make_client(s3_server.url)
    store_id = omics.create_sequence_store(name="from-s3")["id"]
    bucket = unique("sequencing-runs")
    s3.create_bucket(Bucket=bucket)
    r1, r2 = seed_named_paired_fastq(40, seed=2024)
    s3.put_object(Bucket=bucket, Key="runs/42/S1_R1.fastq.gz", Body=gz(r1))
    s3.put_object(Bucket=bucket, Key="runs/42/S1_R2.fastq.gz", Body=gz(r2))
    missing = f"s3://{bucket}/runs/42/S2_R1.fastq.gz"

    job = import_and_wait(
        omics,
        store_id,
        [
            fastq_source(
                f"s3://{bucket}/runs/42/S1_R1.fastq.gz", f"s3://{bucket}/runs/42/S1_R2.fastq.gz", name="S1"
            ),
            fastq_source(missing, name="S2"),
        ],
    )

    assert job["status"] == "COMPLETED_WITH_FAILURES"
    good, bad = job["sources"]
    assert good["status"] == "FINISHED"
    assert bad["status"] == "FAILED"
    assert missing in bad["statusMessage"] and "no such object" in bad["statusMessage"]
    metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=good["readSetId"])
    assert metadata["etag"] == {"algorithm": "FASTQ_MD5up", "source1": md5(r1), "source2": md5(r2)}
    assert metadata["sequenceInformation"]["totalReadCount"] == fastq_counts(r1, r2)[0]
    assert download(omics, store_id, good["readSetId"], "SOURCE1") == gz(r1)
    assert download(omics, store_id, good["readSetId"], "SOURCE2") == gz(r2)
    assert (
        omics.get_read_set_metadata(sequenceStoreId=store_id, id=bad["readSetId"])["status"]
        == "UPLOAD_FAILED"
    )
    # Nothing of the fetched objects is left in the server's work area.
    assert not any(p.is_file() for p in (s3_server.data_dir / "work").rglob("*"))


def test_an_import_into_s3_blobs_on_the_same_endpoint_is_a_server_side_copy(
    s3, s3_endpoint: str, tmp_path: Path
) -> None:
    # The worker reads each source once, to check it; the stored file is then copied by the S3
    # server, not uploaded again. Only a server-side copy carries the source's user metadata.
    server = Server(tmp_path / "data", extra_env=shared_moto().blob_env())
    server.start()
    try:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="s3-to-s3")["id"]
        bucket = unique("sequencing-runs")
        s3.create_bucket(Bucket=bucket)
        r1, r2 = seed_named_paired_fastq(30, seed=7)
        s3.put_object(Bucket=bucket, Key="S1_R1.fastq.gz", Body=gz(r1), Metadata={"run": "42"})
        # Plain FASTQ is stored gzip-compressed by seqstore, so this one cannot be copied.
        s3.put_object(Bucket=bucket, Key="S1_R2.fastq", Body=r2, Metadata={"run": "42"})
        job = import_and_wait(
            omics,
            store_id,
            [fastq_source(f"s3://{bucket}/S1_R1.fastq.gz", f"s3://{bucket}/S1_R2.fastq", name="s3-copy")],
        )
        assert job["status"] == "COMPLETED", job
        read_set_id = omics.list_read_sets(sequenceStoreId=store_id)["readSets"][0]["id"]
        meta = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
        assert meta["status"] == "ACTIVE"
        assert meta["etag"]["source1"] == md5(r1) and meta["etag"]["source2"] == md5(r2)
        assert download(omics, store_id, read_set_id, "SOURCE1") == gz(r1)
        stored = {}
        for file in ("source1", "source2"):
            blob_bucket, key = server.backing_object(meta["files"][file]["s3Access"]["s3Uri"])
            stored[file] = s3.head_object(Bucket=blob_bucket, Key=key)
        assert stored["source1"]["Metadata"] == {"run": "42"}  # copied by the S3 server
        assert stored["source2"]["Metadata"] == {}  # compressed here, so written by seqstore
    finally:
        server.stop()


def test_read_sets_are_exported_to_an_s3_bucket(s3, s3_server: Server) -> None:
    omics = make_client(s3_server.url)
    store_id = omics.create_sequence_store(name="to-s3")["id"]
    source_bucket, export_bucket = unique("runs"), unique("exports")
    s3.create_bucket(Bucket=source_bucket)
    s3.create_bucket(Bucket=export_bucket)
    r1, r2 = seed_named_paired_fastq(25, seed=77)
    s3.put_object(Bucket=source_bucket, Key="R1.fastq.gz", Body=gz(r1))
    s3.put_object(Bucket=source_bucket, Key="R2.fastq.gz", Body=gz(r2))
    imported = import_and_wait(
        omics,
        store_id,
        [fastq_source(f"s3://{source_bucket}/R1.fastq.gz", f"s3://{source_bucket}/R2.fastq.gz")],
    )
    read_set_id = imported["sources"][0]["readSetId"]
    metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)

    started = omics.start_read_set_export_job(
        sequenceStoreId=store_id,
        destination=f"s3://{export_bucket}/delivery/",
        roleArn="arn:aws:iam::123456789012:role/OmicsExport",
        sources=[{"readSetId": read_set_id}],
    )
    job = wait_for_job(omics, "get_read_set_export_job", store_id, started["id"])

    assert job["status"] == "COMPLETED", job
    expected = {}
    for file, source in (("source1", "SOURCE1"), ("source2", "SOURCE2")):
        name = Path(metadata["files"][file]["s3Access"]["s3Uri"]).name
        expected[f"delivery/{read_set_id}/{name}"] = download(omics, store_id, read_set_id, source)
    listed = s3.list_objects_v2(Bucket=export_bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(expected)
    for key, data in expected.items():
        assert s3.get_object(Bucket=export_bucket, Key=key)["Body"].read() == data, key


def test_an_export_to_an_s3_bucket_that_does_not_exist_fails(s3, s3_server: Server) -> None:
    omics = make_client(s3_server.url)
    store_id = omics.create_sequence_store(name="to-nowhere")["id"]
    bucket = unique("runs")
    s3.create_bucket(Bucket=bucket)
    r1, _ = seed_named_paired_fastq(5, seed=78)
    s3.put_object(Bucket=bucket, Key="R1.fastq.gz", Body=gz(r1))
    imported = import_and_wait(omics, store_id, [fastq_source(f"s3://{bucket}/R1.fastq.gz")])
    assert imported["status"] == "COMPLETED"
    missing = unique("no-such-bucket")

    started = omics.start_read_set_export_job(
        sequenceStoreId=store_id,
        destination=f"s3://{missing}/",
        roleArn="arn:aws:iam::123456789012:role/OmicsExport",
        sources=[{"readSetId": imported["sources"][0]["readSetId"]}],
    )
    job = wait_for_job(omics, "get_read_set_export_job", store_id, started["id"])

    assert job["status"] == "FAILED"
    assert missing in job["readSets"][0]["statusMessage"]
    assert missing not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_access_logs_are_written_to_an_s3_bucket_at_shutdown(s3, s3_server: Server) -> None:
    """docs/s3.md, "Access logs": the records still waiting when the server stops (its flush
    period is the default minute) are written then, to the real S3 endpoint."""
    omics = make_client(s3_server.url)
    logs = unique("access-logs")
    s3.create_bucket(Bucket=logs)
    store = omics.create_sequence_store(name="logged", s3AccessConfig={"accessLogLocation": f"s3://{logs}/plane/"})
    data = gz(seed_named_paired_fastq(20, seed=2030)[0])
    read_set = ingest(omics, store["id"], "FASTQ", data, name="logged")
    alias, key = read_set["files"]["source1"]["s3Access"]["s3Uri"].removeprefix("s3://").split("/", 1)
    got = s3_client(s3_server.url).get_object(Bucket=alias, Key=key)
    assert got["Body"].read() == data

    s3_server.stop()
    s3_server.start()

    (written,) = s3.list_objects_v2(Bucket=logs, Prefix="plane/")["Contents"]
    assert OBJECT_NAME.fullmatch(written["Key"].removeprefix("plane/"))
    records = parse_records(s3.get_object(Bucket=logs, Key=written["Key"])["Body"].read().decode())
    record = records[got["ResponseMetadata"]["RequestId"]]
    assert (record["operation"], record["key"], record["status"], record["bytes_sent"]) == (
        "REST.GET.OBJECT", key, "200", str(len(data)))

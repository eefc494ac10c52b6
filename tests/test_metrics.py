"""GET /metrics: Prometheus' text format, counting what boto3's calls did (by operation and
status), their latency and bytes, with the queue's depth and the free disk space."""

from __future__ import annotations

import contextlib
import re
import time

import requests

from tests.helpers.clients import s3_client
from tests.helpers.fastq import fastq_text
from tests.helpers.prometheus_text import parse
from tests.helpers.readsets import ingest
from tests.helpers.servers import Server


def scrape(server: Server) -> dict[str, float]:
    response = requests.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def test_metrics_count_what_clients_did(server: Server, omics) -> None:  # type: ignore[no-untyped-def]
    before = scrape(server)
    store = omics.create_sequence_store(name="metrics")
    for _ in range(3):
        omics.get_sequence_store(id=store["id"])
    with contextlib.suppress(omics.exceptions.ResourceNotFoundException):
        omics.get_sequence_store(id="1234567890")
    after = scrape(server)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert grew('seqstore_requests_total{operation="GetSequenceStore",status="200"}') == 3
    assert grew('seqstore_requests_total{operation="GetSequenceStore",status="404"}') == 1
    assert grew('seqstore_requests_total{operation="CreateSequenceStore",status="200"}') == 1
    assert grew('seqstore_request_duration_seconds_count{operation="GetSequenceStore"}') == 4
    assert grew('seqstore_request_duration_seconds_bucket{operation="GetSequenceStore",le="+Inf"}') == 4
    assert grew('seqstore_response_bytes_total{operation="GetSequenceStore"}') > 0
    assert grew('seqstore_request_bytes_total{operation="CreateSequenceStore"}') > 0
    free = [value for name, value in after.items() if name.startswith("seqstore_disk_free_bytes{")]
    assert free and all(value > 0 for value in free)
    assert any(re.match(r"seqstore_disk_reserve_bytes\{", name) for name in after)


def test_latency_buckets_are_cumulative(server: Server, omics) -> None:  # type: ignore[no-untyped-def]
    omics.list_sequence_stores()
    samples = scrape(server)
    prefix = 'seqstore_request_duration_seconds_bucket{operation="ListSequenceStores",le="'
    buckets = [value for name, value in samples.items() if name.startswith(prefix)]
    assert buckets == sorted(buckets) and buckets[-1] == samples[
        'seqstore_request_duration_seconds_count{operation="ListSequenceStores"}'
    ]


def test_jobs_and_ingestion_are_counted(server: Server, omics) -> None:  # type: ignore[no-untyped-def]
    """An upload's ingestion job in the job duration histogram under its kind and final status;
    the bytes it stored and the read sets it ended, ACTIVE and UPLOAD_FAILED, by what they are."""
    store_id = omics.create_sequence_store(name="metrics-jobs")["id"]
    before = scrape(server)
    good = ingest(omics, store_id, "FASTQ", fastq_text(200, seed=3))
    bad = ingest(omics, store_id, "FASTQ", b"@r1\nACGT\n+\nII\n")
    assert (good["status"], bad["status"]) == ("ACTIVE", "UPLOAD_FAILED")
    stored = good["files"]["source1"]["contentLength"]
    jobs = 'seqstore_job_duration_seconds_count{kind="INGEST_UPLOAD",status="%s"}'
    deadline = time.monotonic() + 10
    while True:  # a job ends just after its read set does
        after = scrape(server)
        ended = sum(after.get(jobs % s, 0) - before.get(jobs % s, 0) for s in ("COMPLETED", "FAILED"))
        if ended >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert grew(jobs % "COMPLETED") == 1 and grew(jobs % "FAILED") == 1
    assert grew('seqstore_job_duration_seconds_bucket{kind="INGEST_UPLOAD",status="FAILED",le="+Inf"}') == 1
    assert grew('seqstore_job_duration_seconds_sum{kind="INGEST_UPLOAD",status="COMPLETED"}') > 0
    assert grew('seqstore_ingested_bytes_total{file_type="FASTQ"}') == stored
    assert grew('seqstore_ingested_read_sets_total{status="ACTIVE"}') == 1
    assert grew('seqstore_ingested_read_sets_total{status="UPLOAD_FAILED"}') == 1


def test_s3_plane_requests_are_counted_under_s3s_names(server: Server, omics) -> None:  # type: ignore[no-untyped-def]
    store_id = omics.create_sequence_store(name="metrics-s3")["id"]
    file = ingest(omics, store_id, "FASTQ", fastq_text(50, seed=4))["files"]["source1"]
    bucket, key = file["s3Access"]["s3Uri"].removeprefix("s3://").split("/", 1)
    s3 = s3_client(server.url)
    before = scrape(server)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with contextlib.suppress(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key=key + "-no-such")
    s3.list_objects_v2(Bucket=bucket)
    after = scrape(server)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert len(body) == file["contentLength"]
    assert grew('seqstore_requests_total{operation="REST.GET.OBJECT",status="200"}') == 1
    assert grew('seqstore_requests_total{operation="REST.GET.OBJECT",status="404"}') == 1
    assert grew('seqstore_requests_total{operation="REST.GET.BUCKET",status="200"}') == 1
    assert grew('seqstore_response_bytes_total{operation="REST.GET.OBJECT"}') >= len(body)
    assert grew('seqstore_request_duration_seconds_count{operation="REST.GET.OBJECT"}') == 2

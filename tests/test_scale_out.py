"""A scaled-out deployment, started by the documented example (scripts/deploy-example.sh): two API
processes and two workers on a PostgreSQL cluster the script starts and an S3-compatible server
(the suite's moto server). One worker is killed
with SIGKILL in the middle of an import job of 10 sources; the other resumes the job when the
dead worker's lease runs out, and the job ends with every source FINISHED exactly once and not
one object in the bucket that no read set owns."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.helpers.backends import S3_CREDENTIALS, shared_moto
from tests.helpers.clients import make_client
from tests.helpers.data import gz, md5
from tests.helpers.fastq import bulk_fastq_text, fastq_counts
from tests.helpers.jobs import fastq_source, wait_for_job
from tests.helpers.names import ACCOUNT
from tests.helpers.paths import ROOT
from tests.helpers.ports import free_port

LEASE_SECONDS = 3
READS = 15000  # per mate: large enough that a source takes a noticeable fraction of a second


class Deployment:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.bucket = shared_moto().new_bucket("deploy")
        env = {
            **os.environ,
            **S3_CREDENTIALS,
            "RUN_DIR": str(run_dir),
            "API_PORT": str(self.port),
            "PG_PORT": str(free_port()),
            "SEQSTORE_S3_ENDPOINT_URL": shared_moto().url,
            "SEQSTORE_BLOB_URL": f"s3://{self.bucket}/blobs",
            "SEQSTORE_ACCESS_KEY_ID": "seqstore",
            "SEQSTORE_SECRET_ACCESS_KEY": "seqstore-secret",
            "SEQSTORE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "WORKER_CONCURRENCY": "1",
        }
        self.log = open(run_dir.parent / "deploy.out", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "deploy-example.sh")],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while not (run_dir / "ready").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the deployment did not start: {(run_dir.parent / 'deploy.out').read_text()}")
            time.sleep(0.1)
        self.database_url = (run_dir / "database-url").read_text().strip()
        assert "127.0.0.1:5432/" not in self.database_url  # the script's own PostgreSQL

    def pid(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text())

    def stop(self) -> None:
        self.process.terminate()  # its trap stops the API, the workers and anything else it started
        try:
            self.process.wait(timeout=30)
        finally:
            os.killpg(self.process.pid, signal.SIGKILL) if self.process.poll() is None else None
            self.log.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    run = Deployment(tmp_path_factory.mktemp("deploy") / "run")
    yield run
    run.stop()


def lease_owner_pid(database_url: str, job_id: str) -> int | None:
    """The process id in the lease of a job (owner = host:pid:nonce), read from PostgreSQL."""
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn:
        row = conn.execute("SELECT lease_owner FROM jobs WHERE id = %s", (job_id,)).fetchone()
    return int(row[0].split(":")[1]) if row and row[0] else None


def put_sources(count: int, reads: int) -> tuple[list[dict[str, Any]], dict[str, tuple[bytes, bytes]]]:
    """`count` FASTQ.gz pairs in a new bucket of the S3 server: import sources and their content by name."""
    s3 = shared_moto().client()
    bucket = shared_moto().new_bucket("runs")
    expected: dict[str, tuple[bytes, bytes]] = {}
    sources = []
    for i in range(count):
        r1 = bulk_fastq_text(reads, seed=100 + i)
        r2 = bulk_fastq_text(reads, seed=200 + i).replace(b"@bulk%d_" % (200 + i), b"@bulk%d_" % (100 + i))
        expected[f"sample-{i}"] = (r1, r2)
        for mate, data in (("R1", r1), ("R2", r2)):
            s3.put_object(Bucket=bucket, Key=f"run/{i}_{mate}.fastq.gz", Body=gz(data, level=1))
        uris = [f"s3://{bucket}/run/{i}_{mate}.fastq.gz" for mate in ("R1", "R2")]
        sources.append(fastq_source(*uris, name=f"sample-{i}"))
    return sources, expected


def start_import(omics: Any, store_id: str, sources: list[dict[str, Any]]) -> str:
    return str(
        omics.start_read_set_import_job(
            sequenceStoreId=store_id, roleArn="arn:aws:iam::123456789012:role/import", sources=sources
        )["id"]
    )


def test_the_sources_of_one_import_job_are_shared_by_both_workers(deployment: Deployment) -> None:
    omics = make_client(deployment.url)
    store_id = omics.create_sequence_store(name="shared")["id"]
    sources, _ = put_sources(10, READS // 3)
    job_id = start_import(omics, store_id, sources)
    job = wait_for_job(omics, "get_read_set_import_job", store_id, job_id, timeout=120)
    assert [s["status"] for s in job["sources"]] == ["FINISHED"] * 10
    done = {
        worker: len(re.findall(rf"job {job_id}: source \d+ finished", (deployment.run_dir / f"{worker}.log").read_text()))
        for worker in ("worker-1", "worker-2")
    }
    assert sum(done.values()) == 10 and min(done.values()) >= 1, done


def test_a_worker_killed_mid_import_loses_nothing_and_duplicates_nothing(deployment: Deployment) -> None:
    omics = make_client(deployment.url)
    s3 = shared_moto().client()
    store_id = omics.create_sequence_store(name="scale-out")["id"]
    sources, expected = put_sources(10, READS)
    job_id = start_import(omics, store_id, sources)

    # Kill the worker holding the job once some sources are done and others are not.
    deadline = time.monotonic() + 120
    while True:
        job = omics.get_read_set_import_job(sequenceStoreId=store_id, id=job_id)
        finished = sum(s["status"] == "FINISHED" for s in job["sources"])
        if finished >= 1 or job["status"] not in ("SUBMITTED", "IN_PROGRESS"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["status"] == "IN_PROGRESS" and finished < 10, job
    owner = lease_owner_pid(deployment.database_url, job_id)
    workers = {deployment.pid("worker-1"), deployment.pid("worker-2")}
    assert owner in workers, (owner, workers)
    os.kill(owner, signal.SIGKILL)
    survivor = (workers - {owner}).pop()

    job = wait_for_job(omics, "get_read_set_import_job", store_id, job_id, timeout=180)
    assert job["status"] == "COMPLETED", job
    assert [s["status"] for s in job["sources"]] == ["FINISHED"] * 10
    assert lease_owner_pid(deployment.database_url, job_id) is None
    os.kill(survivor, 0)  # the other worker is still running

    # Exactly one read set per source, each right.
    read_sets: list[dict[str, Any]] = []
    for page in omics.get_paginator("list_read_sets").paginate(sequenceStoreId=store_id):
        read_sets += page["readSets"]
    assert sorted(r["name"] for r in read_sets) == sorted(expected)
    assert {r["id"] for r in read_sets} == {s["readSetId"] for s in job["sources"]}
    owned: set[str] = set()
    for summary in read_sets:
        metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=summary["id"])
        r1, r2 = expected[metadata["name"]]
        assert metadata["status"] == "ACTIVE"
        assert metadata["etag"] == {"algorithm": "FASTQ_MD5up", "source1": md5(r1), "source2": md5(r2)}
        assert metadata["sequenceInformation"]["totalReadCount"] == fastq_counts(r1, r2)[0]
        # s3Uri's bucket is the store's access point alias; the key is the blob key (docs/s3.md, "Names").
        owned |= {f"s3://{deployment.bucket}/blobs/" + f["s3Access"]["s3Uri"].removeprefix("s3://").split("/", 1)[1]
                  for f in metadata["files"].values()}

    # No orphaned objects: every object of the store belongs to a read set; no parts, no half-written ones.
    def objects(prefix: str) -> set[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=deployment.bucket, Prefix=prefix)
        return {f"s3://{deployment.bucket}/{o['Key']}" for page in pages for o in page.get("Contents", [])}

    assert objects(f"blobs/{ACCOUNT}/sequenceStore/{store_id}/") == owned
    assert objects("blobs/uploads/") == set()
    assert s3.list_multipart_uploads(Bucket=deployment.bucket).get("Uploads", []) == []

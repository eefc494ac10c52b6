"""Upgrades with data: a database built at an earlier migration (each of them in turn) and filled
through that version's schema (a store, read sets ACTIVE and failed, an upload in progress with
a part, jobs finished, queued, and running under the lease of a process that is gone, tags), then
served by today's seqstore (which migrates it to head): every row reads back through the API as
it was written, and the queued and the interrupted import run to their end."""

from __future__ import annotations

import gzip
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, insert

from seqstore.db.engine import Database
from tests.helpers.backends import migrate_to
from tests.helpers.clients import make_client
from tests.helpers.fastq import fastq_text
from tests.helpers.jobs import fastq_source, wait_for_job
from tests.helpers.servers import Server, running

STORE, ACTIVE, FAILED, UPLOAD, JOB_DONE, JOB_FAILED, JOB_QUEUED, JOB_RUNNING = (
    "1000000001", "2000000001", "2000000002", "3000000001", "4000000001", "4000000002", "4000000003", "4000000004",
)  # fmt: skip
# Every revision before head (0013); each later one added columns, indexes or tables the fill leaves alone.
REVISIONS = ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011", "0012"]
# A lease held by a process of this host that no longer runs (pid 2**22 + 1 is above pid_max).
DEAD_OWNER = f"{socket.gethostname()}:4194305:upgrade-test"
READS = 25
ACCOUNT, REGION = "123456789012", "us-east-1"
WHEN = datetime(2026, 1, 2, 3, 4, 5)  # naive UTC, as the first revision's DateTime columns take it


def fill_at(url: str, revision: str) -> None:
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            migrate_to(connection, revision)
            connection.commit()
            tables = MetaData()
            tables.reflect(connection)
            t = tables.tables
            times = {"creation_time": WHEN, "update_time": WHEN}
            # From 0009 on, creating a store gave it its alias's random part (before, the migration does).
            alias = {"s3_alias_token": "t" * 24} if revision >= "0009" else {}
            connection.execute(insert(t["sequence_stores"]).values(
                id=STORE, name="from-0001", description="old", status="ACTIVE", etag_algorithm_family="MD5up",
                propagated_set_level_tags=["project"], sse_type="KMS", **times, **alias))
            connection.execute(insert(t["read_sets"]).values(
                dict(id=ACTIVE, sequence_store_id=STORE, name="sample-a", subject_id="s1", sample_id="a",
                     file_type="FASTQ", status="ACTIVE", creation_type="UPLOAD", creation_job_id=UPLOAD,
                     read_count=10, base_count=1500, alignment="UNALIGNED", etag_algorithm="FASTQ_MD5up",
                     etag_source1="e" * 32, last_access_time=WHEN, **times)))
            connection.execute(insert(t["read_sets"]).values(
                dict(id=FAILED, sequence_store_id=STORE, name="sample-b", subject_id="s1", sample_id="b",
                     file_type="BAM", status="UPLOAD_FAILED", status_message="line 4: not FASTQ",
                     creation_type="UPLOAD", **times)))
            connection.execute(insert(t["read_set_files"]).values(
                read_set_id=ACTIVE, file="source1", blob_key=f"{ACCOUNT}/sequenceStore/{STORE}/readSet/{ACTIVE}/a.fastq.gz",
                file_name="a.fastq.gz", content_length=1234, part_size=100 * 1024 * 1024))
            connection.execute(insert(t["uploads"]).values(
                id=UPLOAD, sequence_store_id=STORE, source_file_type="FASTQ", subject_id="s2", sample_id="c",
                name="in-progress", tags={"k": "v"}, status="IN_PROGRESS", **times))
            connection.execute(insert(t["upload_parts"]).values(
                upload_id=UPLOAD, part_source="SOURCE1", part_number=1, blob_key=f"uploads/{UPLOAD}/SOURCE1/00001-x",
                part_size=5, checksum="Y2hlY2tzdW0=", **times))
            job = dict(kind="READSET_IMPORT", store_id=STORE, role_arn=f"arn:aws:iam::{ACCOUNT}:role/r", params={},
                       attempts=0, **times)
            connection.execute(insert(t["jobs"]), [
                dict(id=JOB_DONE, status="COMPLETED", status_message="The job completed successfully.", runnable=False,
                     completion_time=WHEN + timedelta(minutes=5), **job),
                dict(id=JOB_FAILED, status="FAILED", status_message="All 1 sources failed.", runnable=False,
                     completion_time=WHEN + timedelta(minutes=6), **job),
            ])
            # A job queued, and one a worker was running when the old version stopped: its lease
            # is a dead process's, and it had begun its item (the item's lease is 0003's).
            queued_source = fastq_source("s3://old/queued.fq.gz", name="queued")
            running_source = fastq_source("s3://old/running.fq.gz", name="running")
            later = {"creation_time": WHEN + timedelta(minutes=7), "update_time": WHEN + timedelta(minutes=7)}
            connection.execute(insert(t["jobs"]), [
                dict(job, **later, id=JOB_QUEUED, status="SUBMITTED", runnable=True,
                     params={"sequenceStoreId": STORE, "roleArn": job["role_arn"], "sources": [queued_source]}),
                dict(job, **later, id=JOB_RUNNING, status="IN_PROGRESS", runnable=True, attempts=1,
                     lease_owner=DEAD_OWNER, lease_expires=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1),
                     params={"sequenceStoreId": STORE, "roleArn": job["role_arn"], "sources": [running_source]}),
            ])
            item_lease = {"lease_owner": DEAD_OWNER, "lease_expires": datetime.now(UTC).replace(tzinfo=None)
                          + timedelta(hours=1)} if revision >= "0003" else {}
            connection.execute(insert(t["job_items"]), [
                dict(job_id=JOB_QUEUED, position=0, source=queued_source, status="NOT_STARTED"),
                dict(job_id=JOB_RUNNING, position=0, source=running_source, status="IN_PROGRESS", **item_lease),
            ])
            source = {"sourceFiles": {"source1": "s3://b/a.fq.gz"}, "sourceFileType": "FASTQ", "subjectId": "s1",
                      "sampleId": "a", "name": "sample-a"}
            connection.execute(insert(t["job_items"]).values(
                job_id=JOB_DONE, position=0, source=source, status="FINISHED", result_id=ACTIVE))
            connection.execute(insert(t["job_items"]).values(
                job_id=JOB_FAILED, position=0, source=source, status="FAILED", status_message="no such object"))
            arn = f"arn:aws:omics:{REGION}:{ACCOUNT}:sequenceStore/{STORE}"
            connection.execute(insert(t["tags"]), [
                {"resource_arn": arn, "key": "team", "value": "genomics"},
                {"resource_arn": f"{arn}/readSet/{ACTIVE}", "key": "project", "value": "p1"},
            ])
            connection.commit()  # fmt: skip
    finally:
        db.dispose()


@pytest.mark.parametrize("revision", REVISIONS)
def test_data_written_at_an_earlier_revision_reads_back_after_upgrading(tmp_path: Path, revision: str) -> None:
    server = Server(tmp_path / "data", {"SEQSTORE_BUCKETS_DIR": str(tmp_path / "buckets")})
    server.data_dir.mkdir(parents=True)
    (tmp_path / "buckets" / "old").mkdir(parents=True)
    for name, seed in (("queued", 1), ("running", 2)):
        (tmp_path / "buckets" / "old" / f"{name}.fq.gz").write_bytes(gzip.compress(fastq_text(READS, seed=seed)))
    url = server.extra_env.get("SEQSTORE_DATABASE_URL") or f"sqlite:///{server.data_dir / 'seqstore.db'}"
    fill_at(url, revision)
    with running(server):  # starts today's seqstore on it: migrated to head
        omics = make_client(server.url)
        store = omics.get_sequence_store(id=STORE)
        assert (store["name"], store["description"], store["propagatedSetLevelTags"]) == ("from-0001", "old", ["project"])
        assert store["creationTime"] == WHEN.replace(tzinfo=UTC)
        # Migration 0009 gave the old store its access point alias.
        assert re.fullmatch(rf"s3://{ACCOUNT}-{STORE}-[a-z0-9]{{24}}-s3alias/{ACCOUNT}/sequenceStore/{STORE}/",
                            store["s3Access"]["s3Uri"]), store["s3Access"]  # fmt: skip
        active = omics.get_read_set_metadata(sequenceStoreId=STORE, id=ACTIVE)
        assert active["status"] == "ACTIVE" and active["sequenceInformation"]["totalReadCount"] == 10
        assert active["etag"] == {"algorithm": "FASTQ_MD5up", "source1": "e" * 32}
        assert active["files"]["source1"]["contentLength"] == 1234
        failed = omics.get_read_set_metadata(sequenceStoreId=STORE, id=FAILED)
        assert (failed["status"], failed["statusMessage"]) == ("UPLOAD_FAILED", "line 4: not FASTQ")
        listed = omics.list_read_sets(sequenceStoreId=STORE)["readSets"]
        assert {ACTIVE, FAILED} <= {r["id"] for r in listed}
        uploads = omics.list_multipart_read_set_uploads(sequenceStoreId=STORE)["uploads"]
        assert [(u["uploadId"], u["tags"]) for u in uploads] == [(UPLOAD, {"k": "v"})]
        parts = omics.list_read_set_upload_parts(sequenceStoreId=STORE, uploadId=UPLOAD, partSource="SOURCE1")
        assert [(p["partNumber"], p["checksum"]) for p in parts["parts"]] == [(1, "Y2hlY2tzdW0=")]
        done = omics.get_read_set_import_job(sequenceStoreId=STORE, id=JOB_DONE)
        assert done["sources"][0]["readSetId"] == ACTIVE and done["sources"][0]["status"] == "FINISHED"
        # The queued job and the interrupted one run to their end on today's worker.
        imported = {}
        for job_id, name in ((JOB_QUEUED, "queued"), (JOB_RUNNING, "running")):
            finished = wait_for_job(omics, "get_read_set_import_job", STORE, job_id)
            assert finished["status"] == "COMPLETED", finished
            read_set = omics.get_read_set_metadata(sequenceStoreId=STORE, id=finished["sources"][0]["readSetId"])
            assert (read_set["name"], read_set["status"]) == (name, "ACTIVE")
            assert read_set["sequenceInformation"]["totalReadCount"] == READS
            imported[name] = read_set["id"]
        assert set(imported.values()) <= {r["id"] for r in omics.list_read_sets(sequenceStoreId=STORE)["readSets"]}
        jobs = {j["id"]: j for j in omics.list_read_set_import_jobs(sequenceStoreId=STORE)["importJobs"]}
        assert {k: jobs[k]["status"] for k in jobs} == {
            JOB_DONE: "COMPLETED", JOB_FAILED: "FAILED", JOB_QUEUED: "COMPLETED", JOB_RUNNING: "COMPLETED"}
        assert omics.list_tags_for_resource(resourceArn=store["arn"])["tags"] == {"team": "genomics"}
        assert omics.list_tags_for_resource(resourceArn=active["arn"])["tags"] == {"project": "p1"}
        # And the upgraded database takes new writes.
        new = omics.create_sequence_store(name="after-upgrade")
        assert omics.get_sequence_store(id=new["id"])["name"] == "after-upgrade"

"""An import job survives its server being killed: start an import of ten sizeable FASTQ.gz
sources, SIGKILL the server while the job is IN_PROGRESS, start it again on the same data dir,
and the job finishes as if nothing had happened."""

from __future__ import annotations

import time
from pathlib import Path

from tests.helpers.buckets import files_under, new_bucket, put_object
from tests.helpers.clients import all_pages, make_client
from tests.helpers.data import gunzip, gz, md5
from tests.helpers.fastq import bulk_fastq_text
from tests.helpers.jobs import fastq_source, wait_for_job
from tests.helpers.names import ROLE_ARN
from tests.helpers.readsets import download
from tests.helpers.servers import Server

SOURCES = 10
BULK_READS = 120_000  # ~26 MB of FASTQ each: ingest takes a noticeable time


def test_an_import_interrupted_by_a_killed_server_completes_after_a_restart(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    server.start()
    try:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="restart")["id"]
        bucket = new_bucket(server, "big-runs")
        # One large gzip member shared by all sources, then a small one of its own, so every
        # source is distinct (gzip members concatenate: the FASTQ is their decompressed sequence).
        bulk = bulk_fastq_text(BULK_READS, seed=1)
        bulk_gz = gz(bulk, level=1)
        expected = {}
        sources = []
        for i in range(SOURCES):
            own = b"@own%d\nACGTACGTAC\n+\nFFFFFFFFFF\n" % i
            uri = put_object(server, bucket, f"lane{i}.fastq.gz", bulk_gz + gz(own))
            expected[f"sample-{i}"] = md5(bulk + own)
            sources.append(fastq_source(uri, name=f"sample-{i}"))
        del bulk

        started = omics.start_read_set_import_job(sequenceStoreId=store_id, roleArn=ROLE_ARN, sources=sources)
        # Kill the server mid-job: once a source is done and others are still being worked on.
        deadline = time.monotonic() + 60
        while True:
            job = omics.get_read_set_import_job(sequenceStoreId=store_id, id=started["id"])
            statuses = [s["status"] for s in job["sources"]]
            if "FINISHED" in statuses and "IN_PROGRESS" in statuses:
                break
            assert job["status"] in ("SUBMITTED", "IN_PROGRESS"), f"the job ended before the kill: {job}"
            assert time.monotonic() < deadline, job
            time.sleep(0.02)
        server.stop(kill=True)
        assert job["status"] == "IN_PROGRESS"

        server.start()
        # The restarted server takes its dead predecessor's job over at once: well before the
        # 60-second job lease the killed process held would run out.
        job = wait_for_job(omics, "get_read_set_import_job", store_id, started["id"], timeout=30)

        assert job["status"] == "COMPLETED", job
        assert [s["status"] for s in job["sources"]] == ["FINISHED"] * SOURCES
        read_set_ids = [s["readSetId"] for s in job["sources"]]
        assert len(set(read_set_ids)) == SOURCES
        listed = [
            r
            for page in all_pages(omics, "list_read_sets", "readSets", sequenceStoreId=store_id)
            for r in page
        ]
        assert sorted(r["id"] for r in listed) == sorted(read_set_ids)  # nothing imported twice
        for source, read_set_id in zip(job["sources"], read_set_ids, strict=True):
            metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
            assert metadata["status"] == "ACTIVE"
            assert metadata["name"] == source["name"]
            assert metadata["creationJobId"] == started["id"]
            assert metadata["etag"]["source1"] == expected[source["name"]]
            assert metadata["sequenceInformation"]["totalReadCount"] == BULK_READS + 1
            # ACTIVE means every byte is there.
            served = download(omics, store_id, read_set_id, "SOURCE1")
            assert len(served) == metadata["files"]["source1"]["contentLength"]
            assert md5(gunzip(served)) == expected[source["name"]]
        work = server.data_dir / "work"
        assert files_under(work) == []
        assert not (work / started["id"]).exists()
    finally:
        server.stop()

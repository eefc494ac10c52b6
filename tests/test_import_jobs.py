"""Read set import jobs, as a boto3 user runs them: put FASTQ.gz files in a bucket, start an
import job naming them, watch the job and its sources, and read the read sets it created.

The session server resolves s3://bucket/key to <data dir>/buckets/bucket/key, so a test makes a
bucket by making a directory there."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pysam
import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.helpers.buckets import buckets_dir, new_bucket, put_object
from tests.helpers.clients import all_pages, error_code, error_message, make_client
from tests.helpers.data import gunzip, gz, md5
from tests.helpers.fastq import fastq_counts, seed_named_fastq_text, seed_named_paired_fastq
from tests.helpers.jobs import fastq_source, import_and_wait, wait_for_job
from tests.helpers.names import REFERENCE_ARN, ROLE_ARN, unique
from tests.helpers.readsets import download
from tests.helpers.servers import Server


def read_set_ids(omics, store_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        r["id"]
        for page in all_pages(omics, "list_read_sets", "readSets", sequenceStoreId=store_id)
        for r in page
    ]


# --- a successful import


def test_an_import_creates_read_sets_carrying_every_field_of_their_sources(omics, server, store_id) -> None:
    bucket = new_bucket(server, "lab-runs")
    r1, r2 = seed_named_paired_fastq(60, seed=101)
    single = seed_named_fastq_text(25, seed=202)
    r1_uri = put_object(server, bucket, "run-7/HG002_R1.fastq.gz", gz(r1))
    r2_uri = put_object(server, bucket, "run-7/HG002_R2.fastq.gz", gz(r2))
    single_uri = put_object(server, bucket, "run-7/NA12878.fq.gz", gz(single))
    paired_source = fastq_source(
        r1_uri,
        r2_uri,
        subjectId="patient-0042",
        sampleId="blood-draw-7",
        name="HG002 exome",
        description="Paired-end exome, lane 3",
        generatedFrom="NovaSeq run 2024-03",
        referenceArn=REFERENCE_ARN,
        tags={"project": "exomes", "cost-center": "4711"},
    )
    single_source = fastq_source(
        single_uri, subjectId="patient-0043", sampleId="saliva-1", name="NA12878 single"
    )
    before = datetime.now(UTC) - timedelta(seconds=2)

    started = omics.start_read_set_import_job(
        sequenceStoreId=store_id, roleArn=ROLE_ARN, sources=[paired_source, single_source]
    )

    assert started["status"] == "SUBMITTED"
    assert started["sequenceStoreId"] == store_id
    assert started["roleArn"] == ROLE_ARN
    assert before <= started["creationTime"] <= datetime.now(UTC) + timedelta(seconds=2)
    omics.get_waiter("read_set_import_job_completed").wait(
        sequenceStoreId=store_id, id=started["id"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    job = omics.get_read_set_import_job(sequenceStoreId=store_id, id=started["id"])
    assert job["status"] == "COMPLETED"
    assert job["statusMessage"] == "The job completed successfully."
    assert job["roleArn"] == ROLE_ARN
    assert job["creationTime"] <= job["completionTime"] <= datetime.now(UTC) + timedelta(seconds=2)
    assert [s["status"] for s in job["sources"]] == ["FINISHED", "FINISHED"]
    # Each source comes back as submitted, with the read set it created; its tags also list the
    # sample and subject as aws:omics:* tags, as the real service shows them.
    got = job["sources"][0]
    for field in (
        "sourceFiles",
        "sourceFileType",
        "subjectId",
        "sampleId",
        "name",
        "description",
        "generatedFrom",
        "referenceArn",
    ):
        assert got[field] == paired_source[field], field
    assert got["tags"] == {
        "project": "exomes",
        "cost-center": "4711",
        "aws:omics:sampleId": "blood-draw-7",
        "aws:omics:subjectId": "patient-0042",
    }
    paired_id, single_id = (s["readSetId"] for s in job["sources"])
    assert paired_id != single_id
    assert sorted(read_set_ids(omics, store_id)) == sorted([paired_id, single_id])

    paired = omics.get_read_set_metadata(sequenceStoreId=store_id, id=paired_id)
    assert paired["status"] == "ACTIVE"
    assert paired["creationType"] == "IMPORT"
    assert paired["creationJobId"] == started["id"]
    assert paired["fileType"] == "FASTQ"
    assert (paired["name"], paired["description"]) == ("HG002 exome", "Paired-end exome, lane 3")
    assert (paired["subjectId"], paired["sampleId"]) == ("patient-0042", "blood-draw-7")
    assert paired["referenceArn"] == REFERENCE_ARN
    reads, bases = fastq_counts(r1, r2)
    assert paired["sequenceInformation"] == {
        "totalReadCount": reads,
        "totalBaseCount": bases,
        "generatedFrom": "NovaSeq run 2024-03",
        "alignment": "UNALIGNED",
    }
    assert paired["etag"] == {"algorithm": "FASTQ_MD5up", "source1": md5(r1), "source2": md5(r2)}
    assert omics.list_tags_for_resource(resourceArn=paired["arn"])["tags"] == {
        "project": "exomes",
        "cost-center": "4711",
    }
    # gzip FASTQ is stored as received, so each source downloads byte for byte.
    assert download(omics, store_id, paired_id, "SOURCE1") == gz(r1)
    assert download(omics, store_id, paired_id, "SOURCE2") == gz(r2)

    alone = omics.get_read_set_metadata(sequenceStoreId=store_id, id=single_id)
    assert alone["creationJobId"] == started["id"]
    assert alone["name"] == "NA12878 single"
    assert alone["etag"] == {"algorithm": "FASTQ_MD5up", "source1": md5(single)}
    assert alone["sequenceInformation"]["totalReadCount"] == fastq_counts(single)[0]
    assert "source2" not in alone["files"]
    assert gunzip(download(omics, store_id, single_id, "SOURCE1")) == single


def test_imported_files_keep_their_source_file_names(omics, server, store_id) -> None:
    """Spec §8: an imported read set's objects are named after its source files."""
    bucket = new_bucket(server)
    r1, r2 = seed_named_paired_fastq(8, seed=303)
    job = import_and_wait(
        omics,
        store_id,
        [
            fastq_source(
                put_object(server, bucket, "flowcell-A/lib1_S1_L001_R1_001.fastq.gz", gz(r1)),
                put_object(server, bucket, "flowcell-A/lib1_S1_L001_R2_001.fastq.gz", gz(r2)),
                name="lib1",
            ),
            fastq_source(
                put_object(server, bucket, "left/reads.fastq.gz", gz(r1)),
                put_object(server, bucket, "right/reads.fastq.gz", gz(r2)),
                name="clashing names",
            ),
        ],
    )
    assert job["status"] == "COMPLETED", job
    named, clashing = (
        omics.get_read_set_metadata(sequenceStoreId=store_id, id=s["readSetId"])["files"]
        for s in job["sources"]
    )

    def file_name(file: dict) -> str:  # type: ignore[type-arg]
        return str(file["s3Access"]["s3Uri"]).rsplit("/", 1)[-1]

    assert file_name(named["source1"]) == "lib1_S1_L001_R1_001.fastq.gz"
    assert file_name(named["source2"]) == "lib1_S1_L001_R2_001.fastq.gz"
    # Two sources of the same name get source1/source2 inserted before the extension.
    first, second = file_name(clashing["source1"]), file_name(clashing["source2"])
    assert first != second
    assert first.startswith("reads") and first.endswith(".fastq.gz") and "source1" in first
    assert second.startswith("reads") and second.endswith(".fastq.gz") and "source2" in second


def write_primary_bam(path: Path, sequences: dict[str, str], reads: int, *, seed: int) -> Path:
    """A coordinate-sorted BAM (written by htslib through pysam) of primary 60-base reads taken
    from `sequences`, `reads` on each."""
    rng = random.Random(seed)
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": len(seq)} for name, seq in sequences.items()],
    }
    placed = sorted(
        (tid, rng.randrange(0, len(seq) - 60))
        for tid, seq in enumerate(sequences.values())
        for _ in range(reads)
    )
    names = list(sequences)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, (tid, pos) in enumerate(placed):
            record = pysam.AlignedSegment(out.header)
            record.query_name = f"read{i:05d}"
            record.flag = 16 if i % 2 else 0
            record.reference_id = tid
            record.reference_start = pos
            record.mapping_quality = 60
            record.cigartuples = [(0, 60)]
            record.query_sequence = sequences[names[tid]][pos : pos + 60]
            record.query_qualities = pysam.qualitystring_to_array("I" * 60)
            out.write(record)
    return path


def test_an_imported_bam_keeps_its_name_and_gets_an_index_named_after_it(
    omics, server, store_id, reference, tmp_path
) -> None:
    bucket = new_bucket(server)
    bam = write_primary_bam(tmp_path / "NA12878.bam", reference["sequences"], 40, seed=404)
    uri = put_object(server, bucket, "aligned/NA12878.bam", bam.read_bytes())

    job = import_and_wait(
        omics,
        store_id,
        [
            {
                "sourceFiles": {"source1": uri},
                "sourceFileType": "BAM",
                "subjectId": "s",
                "sampleId": "x",
                "referenceArn": reference["arn"],
                "name": "NA12878 aligned",
            }
        ],
    )

    assert job["status"] == "COMPLETED", job
    metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=job["sources"][0]["readSetId"])
    assert metadata["creationType"] == "IMPORT"
    assert metadata["etag"] == {"algorithm": "BAM_MD5up", "source1": md5(str(pysam.view(str(bam))).encode())}
    assert metadata["sequenceInformation"]["totalReadCount"] == 80
    names = {file: str(f["s3Access"]["s3Uri"]).rsplit("/", 1)[-1] for file, f in metadata["files"].items()}
    assert names == {"source1": "NA12878.bam", "index": "NA12878.bam.bai"}
    assert download(omics, store_id, metadata["id"], "INDEX")[:4] == b"BAI\x01"


def test_a_retried_start_with_the_same_client_token_is_the_same_job(omics, server, store_id) -> None:
    bucket = new_bucket(server)
    uri = put_object(server, bucket, "a.fastq.gz", gz(seed_named_fastq_text(5, seed=1)))
    token = unique("token")
    sources = [fastq_source(uri, name="retried")]

    first = omics.start_read_set_import_job(
        sequenceStoreId=store_id, roleArn=ROLE_ARN, clientToken=token, sources=sources
    )
    again = omics.start_read_set_import_job(
        sequenceStoreId=store_id, roleArn=ROLE_ARN, clientToken=token, sources=sources
    )
    assert again["id"] == first["id"]

    with pytest.raises(ClientError) as excinfo:
        omics.start_read_set_import_job(
            sequenceStoreId=store_id,
            roleArn=ROLE_ARN,
            clientToken=token,
            sources=[fastq_source(uri, name="something else")],
        )
    assert error_code(excinfo) == "ValidationException"

    wait_for_job(omics, "get_read_set_import_job", store_id, first["id"])
    jobs = omics.list_read_set_import_jobs(sequenceStoreId=store_id)["importJobs"]
    assert [j["id"] for j in jobs] == [first["id"]]
    assert len(read_set_ids(omics, store_id)) == 1  # the retry imported nothing twice


def test_list_import_jobs_filters_by_status_and_creation_time_and_pages(omics, server, store_id) -> None:
    bucket = new_bucket(server)
    good = put_object(server, bucket, "good.fastq.gz", gz(seed_named_fastq_text(4, seed=2)))
    missing = f"s3://{bucket}/not-there.fastq.gz"
    jobs = []
    for sources in ([good], [missing], [good], [good, missing]):
        jobs.append(import_and_wait(omics, store_id, [fastq_source(uri) for uri in sources]))
        time.sleep(0.01)  # distinct creation times
    assert [j["status"] for j in jobs] == ["COMPLETED", "FAILED", "COMPLETED", "COMPLETED_WITH_FAILURES"]
    all_ids = [j["id"] for j in jobs]

    listed = omics.list_read_set_import_jobs(sequenceStoreId=store_id)["importJobs"]
    assert [j["id"] for j in listed] == all_ids
    assert [j["status"] for j in listed] == [j["status"] for j in jobs]
    assert all(j["roleArn"] == ROLE_ARN and "completionTime" in j for j in listed)
    assert "sources" not in listed[0]

    def listed_ids(page_size: int = 100, **filter_: object) -> list[str]:
        return [
            j["id"]
            for page in all_pages(
                omics, "list_read_set_import_jobs", "importJobs", sequenceStoreId=store_id, filter=filter_,
                PaginationConfig={"PageSize": page_size},
            )
            for j in page
        ]

    assert listed_ids(status="COMPLETED") == [all_ids[0], all_ids[2]]
    assert listed_ids(status="FAILED") == [all_ids[1]]
    assert listed_ids(status="COMPLETED_WITH_FAILURES") == [all_ids[3]]
    assert listed_ids(status="IN_PROGRESS") == []
    second, third = jobs[1]["creationTime"], jobs[2]["creationTime"]
    assert listed_ids(createdAfter=second) == all_ids[1:]
    assert listed_ids(createdBefore=third) == all_ids[:3]
    assert listed_ids(createdAfter=second, createdBefore=third) == all_ids[1:3]
    assert listed_ids(createdAfter=second, status="COMPLETED") == [all_ids[2]]
    # Bounded by creation time, pages are cut on (creationTime, id order): one job a page.
    assert listed_ids(page_size=1, createdAfter=second) == all_ids[1:]
    assert listed_ids(page_size=1, createdAfter=second, createdBefore=third) == all_ids[1:3]

    # maxResults pages through every job once, in order.
    seen, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = omics.list_read_set_import_jobs(sequenceStoreId=store_id, maxResults=3, **kwargs)
        assert len(page["importJobs"]) <= 3
        seen += [j["id"] for j in page["importJobs"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == all_ids
    pages = all_pages(
        omics,
        "list_read_set_import_jobs",
        "importJobs",
        sequenceStoreId=store_id,
        PaginationConfig={"PageSize": 1},
    )
    assert [[j["id"] for j in page] for page in pages] == [[i] for i in all_ids]


def test_a_job_waits_submitted_with_its_sources_queued_until_a_worker_runs_it(tmp_path: Path) -> None:
    """A server without job threads (SEQSTORE_CONCURRENCY=0) leaves the job to `seqstore worker`."""
    server = Server(tmp_path / "data", extra_env={"SEQSTORE_CONCURRENCY": "0"})
    server.start()
    worker = None
    try:
        omics = make_client(server.url)
        store_id = omics.create_sequence_store(name="queued")["id"]
        bucket = new_bucket(server)
        data = seed_named_fastq_text(6, seed=3)
        uri = put_object(server, bucket, "reads.fastq.gz", gz(data))
        started = omics.start_read_set_import_job(
            sequenceStoreId=store_id, roleArn=ROLE_ARN, sources=[fastq_source(uri), fastq_source(uri)]
        )
        time.sleep(1.0)  # long enough for a worker to have started it, were there one

        job = omics.get_read_set_import_job(sequenceStoreId=store_id, id=started["id"])
        assert job["status"] == "SUBMITTED"
        assert job["statusMessage"] == "The job is submitted and will start soon."
        assert "completionTime" not in job
        for source in job["sources"]:
            assert source["status"] == "NOT_STARTED"
            assert source["statusMessage"] == "The source is queued for the job."
            assert "readSetId" not in source
        submitted = omics.list_read_set_import_jobs(sequenceStoreId=store_id, filter={"status": "SUBMITTED"})
        assert [j["id"] for j in submitted["importJobs"]] == [started["id"]]

        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seqstore.cli",
                "worker",
                "--data-dir",
                str(server.data_dir),
                "--concurrency",
                "1",
            ],
            # The same database as the server's (SEQSTORE_DATABASE_URL on PostgreSQL runs).
            env={**os.environ, **{k: v for k, v in server.extra_env.items() if k != "SEQSTORE_CONCURRENCY"}},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        job = wait_for_job(omics, "get_read_set_import_job", store_id, started["id"], timeout=30)
        assert job["status"] == "COMPLETED"
        for source in job["sources"]:
            metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=source["readSetId"])
            assert metadata["etag"]["source1"] == md5(data)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        server.stop()


# --- requests refused at Start


def test_source2_for_a_bam_source_is_refused_when_the_job_is_started(omics, server, store_id) -> None:
    bucket = new_bucket(server)
    with pytest.raises(ClientError) as excinfo:
        omics.start_read_set_import_job(
            sequenceStoreId=store_id,
            roleArn=ROLE_ARN,
            sources=[
                {
                    "sourceFiles": {"source1": f"s3://{bucket}/a.bam", "source2": f"s3://{bucket}/b.bam"},
                    "sourceFileType": "BAM",
                    "subjectId": "s",
                    "sampleId": "x",
                    "referenceArn": REFERENCE_ARN,
                }
            ],
        )
    assert error_code(excinfo) == "ValidationException"
    assert "source2" in error_message(excinfo)
    assert omics.list_read_set_import_jobs(sequenceStoreId=store_id)["importJobs"] == []


def test_a_bam_source_without_a_reference_arn_is_refused_when_the_job_is_started(
    omics, server, store_id
) -> None:
    bucket = new_bucket(server)
    with pytest.raises(ClientError) as excinfo:
        omics.start_read_set_import_job(
            sequenceStoreId=store_id,
            roleArn=ROLE_ARN,
            sources=[
                fastq_source(put_object(server, bucket, "ok.fastq.gz", gz(seed_named_fastq_text(3, seed=4)))),
                {
                    "sourceFiles": {"source1": f"s3://{bucket}/a.bam"},
                    "sourceFileType": "BAM",
                    "subjectId": "s",
                    "sampleId": "x",
                },
            ],
        )
    assert error_code(excinfo) == "ValidationException"
    assert "referenceArn" in error_message(excinfo)
    assert omics.list_read_set_import_jobs(sequenceStoreId=store_id)["importJobs"] == []
    assert read_set_ids(omics, store_id) == []


def test_more_than_100_sources_are_refused(omics, server, store_id) -> None:
    bucket = new_bucket(server)
    uri = put_object(server, bucket, "r.fastq.gz", gz(seed_named_fastq_text(2, seed=5)))
    with pytest.raises(ClientError) as excinfo:
        omics.start_read_set_import_job(
            sequenceStoreId=store_id, roleArn=ROLE_ARN, sources=[fastq_source(uri)] * 101
        )
    assert error_code(excinfo) == "ValidationException"


def test_an_unknown_sequence_store_is_not_found(omics, server) -> None:
    bucket = new_bucket(server)
    uri = put_object(server, bucket, "r.fastq.gz", gz(seed_named_fastq_text(2, seed=6)))
    with pytest.raises(ClientError) as excinfo:
        omics.start_read_set_import_job(
            sequenceStoreId="9999999999", roleArn=ROLE_ARN, sources=[fastq_source(uri)]
        )
    assert error_code(excinfo) == "ResourceNotFoundException"


# --- sources that fail while the job runs


def failed_source(omics, store_id: str, job: dict) -> tuple[dict, dict]:  # type: ignore[no-untyped-def,type-arg]
    """The only source of a failed one-source job, and the read set it left behind."""
    assert job["status"] == "FAILED", job
    assert job["statusMessage"]
    (source,) = job["sources"]
    assert source["status"] == "FAILED"
    read_set = omics.get_read_set_metadata(sequenceStoreId=store_id, id=source["readSetId"])
    assert read_set["status"] == "UPLOAD_FAILED"
    assert read_set["creationJobId"] == job["id"]
    return source, read_set


def test_a_source_in_a_bucket_that_does_not_exist_fails(omics, store_id) -> None:
    bucket = unique("no-such-bucket")
    job = import_and_wait(omics, store_id, [fastq_source(f"s3://{bucket}/reads.fastq.gz")])
    source, read_set = failed_source(omics, store_id, job)
    assert bucket in source["statusMessage"] and "does not exist" in source["statusMessage"]
    assert read_set["statusMessage"]
    with pytest.raises(ClientError) as excinfo:
        download(omics, store_id, read_set["id"], "SOURCE1")
    assert error_code(excinfo) == "ConflictException"


def test_a_missing_object_fails_its_source_and_not_the_others(omics, server, store_id) -> None:
    bucket = new_bucket(server)
    data = seed_named_fastq_text(12, seed=7)
    good = put_object(server, bucket, "present.fastq.gz", gz(data))
    missing = f"s3://{bucket}/absent.fastq.gz"

    job = import_and_wait(omics, store_id, [fastq_source(good), fastq_source(missing), fastq_source(good)])

    assert job["status"] == "COMPLETED_WITH_FAILURES"
    assert [s["status"] for s in job["sources"]] == ["FINISHED", "FAILED", "FINISHED"]
    message = job["sources"][1]["statusMessage"]
    assert missing in message and "no such object" in message
    for source in (job["sources"][0], job["sources"][2]):
        assert gunzip(download(omics, store_id, source["readSetId"], "SOURCE1")) == data
    # boto3's waiter treats COMPLETED_WITH_FAILURES as a failure.
    with pytest.raises(WaiterError):
        omics.get_waiter("read_set_import_job_completed").wait(
            sequenceStoreId=store_id, id=job["id"], WaiterConfig={"Delay": 1, "MaxAttempts": 3}
        )


def test_a_key_with_dot_dot_segments_cannot_escape_the_buckets_directory(omics, server, store_id) -> None:
    bucket = new_bucket(server)
    # A perfectly good FASTQ outside the buckets dir: were the key followed, the import would work.
    outside = server.data_dir.parent / unique("outside") / "reads.fastq.gz"
    outside.parent.mkdir()
    outside.write_bytes(gz(seed_named_fastq_text(5, seed=8)))
    escaping = f"s3://{bucket}/../../../{outside.parent.name}/reads.fastq.gz"
    assert (
        buckets_dir(server) / bucket / "../../.." / outside.parent.name / "reads.fastq.gz"
    ).resolve() == outside

    job = import_and_wait(omics, store_id, [fastq_source(escaping)])

    source, _ = failed_source(omics, store_id, job)
    assert escaping in source["statusMessage"]
    assert "not allowed" in source["statusMessage"] or "outside" in source["statusMessage"]


def test_a_symbolic_link_leading_out_of_its_bucket_is_refused(omics, server, store_id) -> None:
    bucket = new_bucket(server)
    data = seed_named_fastq_text(5, seed=9)
    outside = server.data_dir.parent / unique("secrets") / "reads.fastq.gz"
    outside.parent.mkdir()
    outside.write_bytes(gz(data))
    (buckets_dir(server) / bucket / "escape.fastq.gz").symlink_to(outside)
    # A link to another object of the same bucket stays inside it and is fine.
    inside = put_object(server, bucket, "real/reads.fastq.gz", gz(data))
    (buckets_dir(server) / bucket / "alias.fastq.gz").symlink_to(
        buckets_dir(server) / bucket / "real/reads.fastq.gz"
    )

    job = import_and_wait(
        omics,
        store_id,
        [
            fastq_source(f"s3://{bucket}/escape.fastq.gz"),
            fastq_source(f"s3://{bucket}/alias.fastq.gz"),
            fastq_source(inside),
        ],
    )

    assert [s["status"] for s in job["sources"]] == ["FAILED", "FINISHED", "FINISHED"]
    assert "outside the bucket" in job["sources"][0]["statusMessage"]
    refused = omics.get_read_set_metadata(sequenceStoreId=store_id, id=job["sources"][0]["readSetId"])
    assert refused["status"] == "UPLOAD_FAILED"


def test_an_empty_object_fails_its_source_and_leaves_its_read_set_upload_failed(
    omics, server, store_id
) -> None:
    bucket = new_bucket(server)
    job = import_and_wait(omics, store_id, [fastq_source(put_object(server, bucket, "empty.fastq.gz", b""))])
    source, read_set = failed_source(omics, store_id, job)
    assert "empty" in source["statusMessage"]
    assert "empty" in read_set["statusMessage"]
    assert "etag" not in read_set


def test_mates_with_different_read_counts_fail_their_source(omics, server, store_id) -> None:
    bucket = new_bucket(server)
    r1, r2 = seed_named_paired_fastq(10, seed=10)
    r2_short = b"".join(r2.splitlines(keepends=True)[:-4])  # one record fewer
    job = import_and_wait(
        omics,
        store_id,
        [
            fastq_source(
                put_object(server, bucket, "R1.fastq.gz", gz(r1)),
                put_object(server, bucket, "R2.fastq.gz", gz(r2_short)),
            )
        ],
    )
    source, read_set = failed_source(omics, store_id, job)
    message = source["statusMessage"]
    assert re.search(r"\b10\b", message) and re.search(r"\b9\b", message), message
    assert read_set["statusMessage"]


def test_a_hundred_sources_with_three_bad_complete_with_exactly_those_three_failed(
    omics, server, store_id
) -> None:
    bucket = new_bucket(server)
    data = seed_named_fastq_text(3, seed=11, read_length=20)
    good = put_object(server, bucket, "tiny.fastq.gz", gz(data))
    bad = {
        17: f"s3://{bucket}/missing.fastq.gz",
        50: put_object(server, bucket, "empty.fastq.gz", b""),
        98: put_object(server, bucket, "not-fastq.fastq.gz", gz(b"this is not a FASTQ file\n")),
    }
    sources = [fastq_source(bad.get(i, good), name=f"sample-{i:03d}") for i in range(100)]

    job = import_and_wait(omics, store_id, sources)

    assert job["status"] == "COMPLETED_WITH_FAILURES"
    failed = [i for i, s in enumerate(job["sources"]) if s["status"] == "FAILED"]
    assert failed == sorted(bad)
    assert all(s["status"] == "FINISHED" for i, s in enumerate(job["sources"]) if i not in bad)
    assert all(job["sources"][i]["statusMessage"] for i in bad)
    assert len({s["readSetId"] for s in job["sources"]}) == 100
    listed = [
        r for page in all_pages(omics, "list_read_sets", "readSets", sequenceStoreId=store_id) for r in page
    ]
    assert len(listed) == 100
    by_name = {r["name"]: r for r in listed}
    for i in range(100):
        read_set = by_name[f"sample-{i:03d}"]
        assert read_set["status"] == ("UPLOAD_FAILED" if i in bad else "ACTIVE"), i
        assert read_set["id"] == job["sources"][i]["readSetId"]
    assert omics.get_read_set_metadata(sequenceStoreId=store_id, id=job["sources"][0]["readSetId"])["etag"][
        "source1"
    ] == md5(data)

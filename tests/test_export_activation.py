"""Export jobs, archiving and activation jobs, as a boto3 user meets them: export read sets to a
bucket, find read sets archived after a quiet period, and bring them back with an activation job.

Exports go to the server's local buckets directory (s3://bucket/key is <buckets dir>/bucket/key)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers.buckets import buckets_dir, files_under, new_bucket, put_object
from tests.helpers.clients import all_pages, error_code, make_client
from tests.helpers.data import gz, md5
from tests.helpers.fastq import seed_named_fastq_text, seed_named_paired_fastq
from tests.helpers.jobs import (
    NO_ACTIVATION_NEEDED,
    fastq_source,
    import_and_wait,
    wait_for_job,
    wait_for_read_set_status,
)
from tests.helpers.names import ROLE_ARN, unique
from tests.helpers.readsets import download
from tests.helpers.servers import Server, running

UNKNOWN_READ_SET = "1234567890"



def import_read_sets(
    omics, server: Server, store_id: str, count: int = 1, seed: int = 0
) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """`count` paired FASTQ read sets imported from a fresh bucket; their metadata, in order."""
    bucket = new_bucket(server, "sequencer")
    sources = []
    for i in range(count):
        r1, r2 = seed_named_paired_fastq(15 + i, seed=seed + 10 * i)
        sources.append(
            fastq_source(
                put_object(server, bucket, f"run/sample{i}_R1.fastq.gz", gz(r1)),
                put_object(server, bucket, f"run/sample{i}_R2.fastq.gz", gz(r2)),
                name=f"sample {i}",
            )
        )
    job = import_and_wait(omics, store_id, sources)
    assert job["status"] == "COMPLETED", job
    return [
        dict(omics.get_read_set_metadata(sequenceStoreId=store_id, id=s["readSetId"])) for s in job["sources"]
    ]


def failed_read_set(omics, server: Server, store_id: str) -> str:  # type: ignore[no-untyped-def]
    """A read set left UPLOAD_FAILED by importing an empty object; its id."""
    bucket = new_bucket(server)
    job = import_and_wait(omics, store_id, [fastq_source(put_object(server, bucket, "empty.fastq.gz", b""))])
    read_set_id = str(job["sources"][0]["readSetId"])
    assert omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)["status"] == "UPLOAD_FAILED"
    return read_set_id


def file_name(metadata: dict[str, Any], file: str) -> str:
    """The object name of one of a read set's files, from its s3Access URI."""
    return str(metadata["files"][file]["s3Access"]["s3Uri"]).rsplit("/", 1)[-1]


def start_export(
    omics, store_id: str, destination: str, read_set_ids: list[str], **kwargs: Any
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return dict(
        omics.start_read_set_export_job(
            sequenceStoreId=store_id,
            destination=destination,
            roleArn=ROLE_ARN,
            sources=[{"readSetId": i} for i in read_set_ids],
            **kwargs,
        )
    )


def activate(omics, store_id: str, read_set_ids: list[str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    started = omics.start_read_set_activation_job(
        sequenceStoreId=store_id, sources=[{"readSetId": i} for i in read_set_ids]
    )
    assert started["status"] == "SUBMITTED"
    return wait_for_job(omics, "get_read_set_activation_job", store_id, started["id"], interval=0.05)


# --- export


def test_an_export_writes_every_file_of_every_read_set_under_the_destination(omics, server, store_id) -> None:
    paired, other = import_read_sets(omics, server, store_id, count=2, seed=500)
    bucket = new_bucket(server, "exports")
    destination = f"s3://{bucket}/cohort-7/2024/"

    started = start_export(omics, store_id, destination, [paired["id"], other["id"]])

    assert started["status"] == "SUBMITTED"
    assert started["destination"] == destination
    assert started["sequenceStoreId"] == store_id
    omics.get_waiter("read_set_export_job_completed").wait(
        sequenceStoreId=store_id, id=started["id"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    job = omics.get_read_set_export_job(sequenceStoreId=store_id, id=started["id"])
    assert job["status"] == "COMPLETED"
    assert job["statusMessage"] == "The job completed successfully."
    assert job["destination"] == destination
    assert job["creationTime"] <= job["completionTime"]
    assert [(r["id"], r["status"]) for r in job["readSets"]] == [
        (paired["id"], "FINISHED"),
        (other["id"], "FINISHED"),
    ]

    # <destination><readSetId>/<file name>, byte for byte what GetReadSet serves; nothing else.
    root = buckets_dir(server) / bucket / "cohort-7" / "2024"
    expected = {}
    for read_set in (paired, other):
        for file, source in (("source1", "SOURCE1"), ("source2", "SOURCE2")):
            name = file_name(read_set, file)
            expected[root / read_set["id"] / name] = download(omics, store_id, read_set["id"], source)
    assert file_name(paired, "source1") == "sample0_R1.fastq.gz"  # the imported file's name
    assert files_under(buckets_dir(server) / bucket) == sorted(expected)
    for path, data in expected.items():
        assert path.read_bytes() == data, path

    listed = omics.list_read_set_export_jobs(sequenceStoreId=store_id)["exportJobs"]
    assert [(j["id"], j["status"], j["destination"]) for j in listed] == [
        (started["id"], "COMPLETED", destination)
    ]
    assert "readSets" not in listed[0]


def test_read_sets_that_are_not_active_or_do_not_exist_fail_their_export_entries(
    omics, server, store_id
) -> None:
    (good,) = import_read_sets(omics, server, store_id, seed=600)
    failed = failed_read_set(omics, server, store_id)
    bucket = new_bucket(server, "exports")

    started = start_export(omics, store_id, f"s3://{bucket}/", [failed, good["id"], UNKNOWN_READ_SET])
    job = wait_for_job(omics, "get_read_set_export_job", store_id, started["id"])

    assert job["status"] == "COMPLETED_WITH_FAILURES"
    entries = {r["id"]: r for r in job["readSets"]}
    assert [r["id"] for r in job["readSets"]] == [failed, good["id"], UNKNOWN_READ_SET]
    assert entries[good["id"]]["status"] == "FINISHED"
    assert entries[failed]["status"] == "FAILED"
    assert "UPLOAD_FAILED" in entries[failed]["statusMessage"]
    assert entries[UNKNOWN_READ_SET]["status"] == "FAILED"
    assert UNKNOWN_READ_SET in entries[UNKNOWN_READ_SET]["statusMessage"]
    written = files_under(buckets_dir(server) / bucket)
    assert {p.parent.name for p in written} == {good["id"]}
    assert len(written) == 2


def test_an_export_to_a_bucket_that_does_not_exist_fails(omics, server, store_id) -> None:
    (read_set,) = import_read_sets(omics, server, store_id, seed=700)
    missing_bucket = unique("no-such-bucket")

    started = start_export(omics, store_id, f"s3://{missing_bucket}/out/", [read_set["id"]])
    job = wait_for_job(omics, "get_read_set_export_job", store_id, started["id"])

    assert job["status"] == "FAILED"
    (entry,) = job["readSets"]
    assert entry["status"] == "FAILED"
    assert missing_bucket in entry["statusMessage"] and "does not exist" in entry["statusMessage"]
    assert not (buckets_dir(server) / missing_bucket).exists()
    # The read set itself is untouched.
    assert omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set["id"])["status"] == "ACTIVE"


def test_list_export_jobs_filters_by_status_and_pages(omics, server, store_id) -> None:
    (read_set,) = import_read_sets(omics, server, store_id, seed=800)
    bucket = new_bucket(server, "exports")
    jobs = [
        wait_for_job(
            omics,
            "get_read_set_export_job",
            store_id,
            start_export(omics, store_id, destination, [read_set["id"]])["id"],
        )
        for destination in (f"s3://{bucket}/a/", f"s3://{unique('missing')}/", f"s3://{bucket}/b/")
    ]
    assert [j["status"] for j in jobs] == ["COMPLETED", "FAILED", "COMPLETED"]
    ids = [j["id"] for j in jobs]

    pages = all_pages(
        omics,
        "list_read_set_export_jobs",
        "exportJobs",
        sequenceStoreId=store_id,
        PaginationConfig={"PageSize": 2},
    )
    assert [[j["id"] for j in page] for page in pages] == [ids[:2], ids[2:]]
    failed = omics.list_read_set_export_jobs(sequenceStoreId=store_id, filter={"status": "FAILED"})[
        "exportJobs"
    ]
    assert [j["id"] for j in failed] == [ids[1]]
    after = omics.list_read_set_export_jobs(
        sequenceStoreId=store_id, filter={"createdAfter": jobs[1]["creationTime"]}
    )["exportJobs"]
    assert [j["id"] for j in after] == ids[1:]


# --- activation on a server that never archives in a test's lifetime


def test_activating_a_read_set_that_is_already_active_needs_no_activation(omics, server, store_id) -> None:
    (read_set,) = import_read_sets(omics, server, store_id, seed=900)

    job = activate(omics, store_id, [read_set["id"]])

    assert job["status"] == "COMPLETED"
    assert job["statusMessage"] == "The job completed successfully."
    assert job["sources"] == [
        {"readSetId": read_set["id"], "status": "FINISHED", "statusMessage": NO_ACTIVATION_NEEDED}
    ]
    assert omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set["id"])["status"] == "ACTIVE"
    listed = omics.list_read_set_activation_jobs(sequenceStoreId=store_id)["activationJobs"]
    assert [(j["id"], j["status"]) for j in listed] == [(job["id"], "COMPLETED")]
    assert "completionTime" in listed[0]


def test_unknown_and_failed_read_sets_fail_their_activation_entries(omics, server, store_id) -> None:
    (read_set,) = import_read_sets(omics, server, store_id, seed=1000)
    failed = failed_read_set(omics, server, store_id)

    job = activate(omics, store_id, [UNKNOWN_READ_SET, read_set["id"], failed])

    assert job["status"] == "COMPLETED_WITH_FAILURES"
    statuses = [(s["readSetId"], s["status"]) for s in job["sources"]]
    assert statuses == [(UNKNOWN_READ_SET, "FAILED"), (read_set["id"], "FINISHED"), (failed, "FAILED")]
    assert UNKNOWN_READ_SET in job["sources"][0]["statusMessage"]
    assert job["sources"][2]["statusMessage"]
    only_unknown = activate(omics, store_id, [UNKNOWN_READ_SET])
    assert only_unknown["status"] == "FAILED"
    listed = omics.list_read_set_activation_jobs(sequenceStoreId=store_id, filter={"status": "FAILED"})
    assert [j["id"] for j in listed["activationJobs"]] == [only_unknown["id"]]


def test_an_activation_job_takes_at_most_20_read_sets(omics, server, store_id) -> None:
    (read_set,) = import_read_sets(omics, server, store_id, seed=1100)
    with pytest.raises(ClientError) as excinfo:
        omics.start_read_set_activation_job(
            sequenceStoreId=store_id, sources=[{"readSetId": read_set["id"]}] * 21
        )
    assert error_code(excinfo) == "ValidationException"
    assert omics.list_read_set_activation_jobs(sequenceStoreId=store_id)["activationJobs"] == []

    job = activate(omics, store_id, [read_set["id"]] * 20)
    assert job["status"] == "COMPLETED"
    assert len(job["sources"]) == 20


# --- archiving: a server that archives read sets not read for 2 seconds


@pytest.fixture(scope="module")
def archiving_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("archiving") / "data"
    with running(Server(data_dir, extra_env={"SEQSTORE_ARCHIVE_AFTER_SECONDS": "2"})) as server:
        yield server


def test_an_archived_read_set_is_activated_with_its_bytes_and_etag_unchanged(
    archiving_server: Server,
) -> None:
    omics = make_client(archiving_server.url)
    store_id = omics.create_sequence_store(name="archive")["id"]
    bucket = new_bucket(archiving_server)
    r1, r2 = seed_named_paired_fastq(50, seed=1200)
    imported = {"SOURCE1": gz(r1), "SOURCE2": gz(r2)}  # what GetReadSet serves while ACTIVE
    job = import_and_wait(
        omics,
        store_id,
        [
            fastq_source(
                put_object(archiving_server, bucket, "R1.fastq.gz", imported["SOURCE1"]),
                put_object(archiving_server, bucket, "R2.fastq.gz", imported["SOURCE2"]),
            )
        ],
    )
    read_set = omics.get_read_set_metadata(sequenceStoreId=store_id, id=job["sources"][0]["readSetId"])
    assert read_set["etag"] == {"algorithm": "FASTQ_MD5up", "source1": md5(r1), "source2": md5(r2)}

    archived = wait_for_read_set_status(omics, store_id, read_set["id"], "ARCHIVED", timeout=20)

    assert archived["etag"] == read_set["etag"]
    assert archived["sequenceInformation"] == read_set["sequenceInformation"]
    with pytest.raises(ClientError) as excinfo:
        download(omics, store_id, read_set["id"], "SOURCE1")
    assert error_code(excinfo) == "ConflictException"
    # An archived read set is not exported either.
    exports = new_bucket(archiving_server, "exports")
    export = wait_for_job(
        omics,
        "get_read_set_export_job",
        store_id,
        start_export(omics, store_id, f"s3://{exports}/", [read_set["id"]])["id"],
    )
    assert export["status"] == "FAILED"
    assert "ARCHIVED" in export["readSets"][0]["statusMessage"]
    assert files_under(buckets_dir(archiving_server) / exports) == []

    job = activate(omics, store_id, [read_set["id"]])
    # Read at once: the server archives again 2 s after this access.
    after = {source: download(omics, store_id, read_set["id"], source) for source in ("SOURCE1", "SOURCE2")}

    assert job["status"] == "COMPLETED"
    assert job["sources"] == [{"readSetId": read_set["id"], "status": "FINISHED"}]
    assert after == imported
    metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set["id"])
    assert metadata["status"] == "ACTIVE"
    assert metadata["etag"] == read_set["etag"]
    assert metadata["files"] == read_set["files"]
    listed = omics.list_read_set_activation_jobs(sequenceStoreId=store_id)["activationJobs"]
    assert [(j["id"], j["status"]) for j in listed] == [(job["id"], "COMPLETED")]


def test_the_activation_waiter_waits_for_an_archived_read_set_to_come_back(archiving_server: Server) -> None:
    omics = make_client(archiving_server.url)
    store_id = omics.create_sequence_store(name="archive-waiter")["id"]
    bucket = new_bucket(archiving_server)
    data = seed_named_fastq_text(30, seed=1300)
    job = import_and_wait(
        omics, store_id, [fastq_source(put_object(archiving_server, bucket, "r.fastq.gz", gz(data)))]
    )
    read_set_id = job["sources"][0]["readSetId"]
    wait_for_read_set_status(omics, store_id, read_set_id, "ARCHIVED", timeout=20)
    assert (
        omics.list_read_sets(sequenceStoreId=store_id, filter={"status": "ARCHIVED"})["readSets"][0]["id"]
        == read_set_id
    )

    started = omics.start_read_set_activation_job(
        sequenceStoreId=store_id, sources=[{"readSetId": read_set_id}]
    )
    omics.get_waiter("read_set_activation_job_completed").wait(
        sequenceStoreId=store_id, id=started["id"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )

    got = omics.get_read_set_activation_job(sequenceStoreId=store_id, id=started["id"])
    assert got["status"] == "COMPLETED"
    assert got["sources"][0]["status"] == "FINISHED"

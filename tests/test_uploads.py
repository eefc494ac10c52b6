"""Direct multipart upload of read sets, as a boto3 user drives it: create an upload, send parts,
complete or abort it, and look at uploads and parts in progress."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.helpers.clients import all_pages, error_code
from tests.helpers.data import gz, part_checksum
from tests.helpers.fastq import fastq_text
from tests.helpers.names import ACCOUNT, REFERENCE_ARN, REGION, unique
from tests.helpers.readsets import (
    download,
    eventually_no_upload_files,
    send_parts,
    start_upload,
    upload_files,
    wait_for_status,
)


def test_create_echoes_every_field_the_user_gave_and_issues_an_upload_id(omics, store_id) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    fields = {
        "sourceFileType": "FASTQ",
        "subjectId": "patient-0042",
        "sampleId": "blood-draw-7",
        "generatedFrom": "NovaSeq run 2024-03",
        "referenceArn": REFERENCE_ARN,
        "name": "patient 0042 exome",
        "description": "Paired-end exome, lane 3",
        "tags": {"project": "exomes", "cost-center": "4711"},
    }
    created = omics.create_multipart_read_set_upload(sequenceStoreId=store_id, **fields)

    assert created["uploadId"].isdigit() and 10 <= len(created["uploadId"]) <= 36
    assert created["sequenceStoreId"] == store_id
    for key, value in fields.items():
        assert created[key] == value, key
    assert before <= created["creationTime"] <= datetime.now(UTC) + timedelta(seconds=2)

    listed = omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"]
    assert [u["uploadId"] for u in listed] == [created["uploadId"]]
    assert listed[0]["name"] == "patient 0042 exome"
    assert listed[0]["sourceFileType"] == "FASTQ"


def test_a_create_retried_with_the_same_client_token_returns_the_same_upload(omics, store_id) -> None:
    token = unique("token")
    fields = {"sourceFileType": "FASTQ", "subjectId": "s", "sampleId": "x", "name": "retried"}
    first = omics.create_multipart_read_set_upload(sequenceStoreId=store_id, clientToken=token, **fields)
    again = omics.create_multipart_read_set_upload(sequenceStoreId=store_id, clientToken=token, **fields)
    assert again["uploadId"] == first["uploadId"]
    uploads = omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"]
    assert [u["uploadId"] for u in uploads] == [first["uploadId"]]

    # Without a token (as the TransferManager sends it) every call is a new upload.
    other = omics.create_multipart_read_set_upload(sequenceStoreId=store_id, **fields)
    assert other["uploadId"] != first["uploadId"]

    # The same token with different input is refused rather than silently reused.
    with pytest.raises(ClientError) as excinfo:
        omics.create_multipart_read_set_upload(
            sequenceStoreId=store_id, clientToken=token, **{**fields, "name": "something else"}
        )
    assert error_code(excinfo) == "ValidationException"


def test_parts_cut_at_arbitrary_offsets_and_sent_out_of_order_are_joined_in_part_number_order(
    omics, store_id
) -> None:
    data = gz(fastq_text(300, seed=11))
    pieces = [data[:1], data[1:777], data[777:4096], data[4096:]]  # the first part is a single byte
    upload_id = start_upload(omics, store_id, "FASTQ", name="out-of-order")
    checksums = {}
    for number in (3, 1, 4, 2):  # as the TransferManager's thread pool delivers them
        response = omics.upload_read_set_part(
            sequenceStoreId=store_id,
            uploadId=upload_id,
            partSource="SOURCE1",
            partNumber=number,
            payload=pieces[number - 1],
        )
        checksums[number] = response["checksum"]
    parts = [{"partNumber": n, "partSource": "SOURCE1", "checksum": checksums[n]} for n in (1, 2, 3, 4)]
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts
    )["readSetId"]

    metadata = wait_for_status(omics, store_id, read_set_id)
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    assert metadata["files"]["source1"]["contentLength"] == len(data)
    assert download(omics, store_id, read_set_id) == data


def test_upload_part_returns_the_base64_sha256_of_the_part(omics, store_id) -> None:
    upload_id = start_upload(omics, store_id)
    payload = gz(fastq_text(20, seed=3))
    response = omics.upload_read_set_part(
        sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1", partNumber=1, payload=payload
    )
    assert response["checksum"] == part_checksum(payload)


def test_sending_a_part_number_again_replaces_the_earlier_part(omics, server, store_id) -> None:
    good = gz(fastq_text(120, seed=5))
    upload_id = start_upload(omics, store_id, name="replaced-part")
    wrong = omics.upload_read_set_part(
        sequenceStoreId=store_id,
        uploadId=upload_id,
        partSource="SOURCE1",
        partNumber=1,
        payload=b"the wrong file, sent by mistake",
    )["checksum"]
    right = omics.upload_read_set_part(
        sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1", partNumber=1, payload=good
    )["checksum"]
    assert right != wrong

    parts = omics.list_read_set_upload_parts(
        sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1"
    )["parts"]
    assert [(p["partNumber"], p["partSize"], p["checksum"]) for p in parts] == [(1, len(good), right)]
    assert len(upload_files(server, upload_id)) == 1  # the replaced bytes are gone

    # The replaced part's checksum no longer completes the upload; the new one does.
    with pytest.raises(ClientError) as excinfo:
        omics.complete_multipart_read_set_upload(
            sequenceStoreId=store_id,
            uploadId=upload_id,
            parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": wrong}],
        )
    assert error_code(excinfo) == "ValidationException"
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id,
        uploadId=upload_id,
        parts=[{"partNumber": 1, "partSource": "SOURCE1", "checksum": right}],
    )["readSetId"]
    assert wait_for_status(omics, store_id, read_set_id)["status"] == "ACTIVE"
    assert download(omics, store_id, read_set_id) == good


def test_complete_returns_a_read_set_that_is_processed_until_active(omics, server, store_id) -> None:
    data = gz(fastq_text(200, seed=8))
    name = unique("completed")
    upload_id = start_upload(omics, store_id, name=name, subjectId="subj", sampleId="samp")
    parts = send_parts(omics, store_id, upload_id, data, cuts=[1000])
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts
    )["readSetId"]
    assert read_set_id.isdigit()

    # Right away the read set exists, being processed or already done, and the upload is over.
    first = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
    assert first["status"] in ("PROCESSING_UPLOAD", "ACTIVE")
    assert first["creationType"] == "UPLOAD"
    assert first["name"] == name
    assert omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"] == []

    final = wait_for_status(omics, store_id, read_set_id)
    assert final["status"] == "ACTIVE"
    assert final["creationJobId"] == upload_id
    assert final["arn"] == f"arn:aws:omics:{REGION}:{ACCOUNT}:sequenceStore/{store_id}/readSet/{read_set_id}"
    assert gzip.decompress(download(omics, store_id, read_set_id)) == gzip.decompress(data)
    # Once ingested, the read set owns its bytes: the upload's parts are released.
    assert eventually_no_upload_files(server, upload_id) == []
    with pytest.raises(ClientError) as excinfo:
        omics.list_read_set_upload_parts(sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_abort_frees_the_parts_and_ends_the_upload(omics, server, store_id) -> None:
    r1, r2 = gz(fastq_text(100, seed=1, mate=1)), gz(fastq_text(100, seed=1, mate=2))
    upload_id = start_upload(omics, store_id, name="abandoned")
    parts = send_parts(omics, store_id, upload_id, r1, "SOURCE1", cuts=[500])
    parts += send_parts(omics, store_id, upload_id, r2, "SOURCE2")
    assert len(upload_files(server, upload_id)) == 3
    # An upload in progress keeps its store from being deleted.
    with pytest.raises(ClientError) as excinfo:
        omics.delete_sequence_store(id=store_id)
    assert error_code(excinfo) == "ConflictException"

    omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id)

    assert upload_files(server, upload_id) == []
    assert omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"] == []
    calls = {
        "UploadReadSetPart": lambda: omics.upload_read_set_part(
            sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1", partNumber=3, payload=r1
        ),
        "CompleteMultipartReadSetUpload": lambda: omics.complete_multipart_read_set_upload(
            sequenceStoreId=store_id, uploadId=upload_id, parts=parts
        ),
        "ListReadSetUploadParts": lambda: omics.list_read_set_upload_parts(
            sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1"
        ),
        "AbortMultipartReadSetUpload": lambda: omics.abort_multipart_read_set_upload(
            sequenceStoreId=store_id, uploadId=upload_id
        ),
    }
    for operation, call in calls.items():
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "ResourceNotFoundException", operation
    assert upload_files(server, upload_id) == []  # the refused part left nothing behind
    assert omics.list_read_sets(sequenceStoreId=store_id)["readSets"] == []
    # Nothing holds the store any more.
    omics.delete_sequence_store(id=store_id)


def test_unknown_uploads_and_stores_are_not_found(omics, store_id) -> None:
    calls = [
        lambda: omics.upload_read_set_part(
            sequenceStoreId=store_id, uploadId="9999999999", partSource="SOURCE1", partNumber=1, payload=b"x"
        ),
        lambda: omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId="9999999999"),
        lambda: omics.list_multipart_read_set_uploads(sequenceStoreId="9999999999"),
        lambda: omics.create_multipart_read_set_upload(
            sequenceStoreId="9999999999", sourceFileType="FASTQ", subjectId="s", sampleId="x", name="n"
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "ResourceNotFoundException"

    # An upload of one store is not reachable through another.
    upload_id = start_upload(omics, store_id)
    other_store = omics.create_sequence_store(name="other")["id"]
    with pytest.raises(ClientError) as excinfo:
        omics.list_read_set_upload_parts(
            sequenceStoreId=other_store, uploadId=upload_id, partSource="SOURCE1"
        )
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_list_uploads_shows_only_uploads_in_progress_page_by_page(omics, store_id) -> None:
    upload_ids = [start_upload(omics, store_id, name=f"upload-{i}") for i in range(6)]
    # One completed, one aborted: neither is in progress any more.
    data = gz(fastq_text(10, seed=2))
    parts = send_parts(omics, store_id, upload_ids[1], data)
    completed = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_ids[1], parts=parts
    )["readSetId"]
    omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_ids[4])
    in_progress = [upload_ids[i] for i in (0, 2, 3, 5)]

    pages = all_pages(
        omics,
        "list_multipart_read_set_uploads",
        "uploads",
        sequenceStoreId=store_id,
        PaginationConfig={"PageSize": 3},
    )
    assert [len(p) for p in pages] == [3, 1]
    assert sorted(u["uploadId"] for p in pages for u in p) == sorted(in_progress)
    assert all(u["sequenceStoreId"] == store_id for p in pages for u in p)

    first = omics.list_multipart_read_set_uploads(sequenceStoreId=store_id, maxResults=2)
    assert len(first["uploads"]) == 2 and first.get("nextToken")
    second = omics.list_multipart_read_set_uploads(
        sequenceStoreId=store_id, maxResults=2, nextToken=first["nextToken"]
    )
    assert len(second["uploads"]) == 2 and not second.get("nextToken")
    assert {u["uploadId"] for u in first["uploads"] + second["uploads"]} == set(in_progress)
    assert wait_for_status(omics, store_id, completed)["status"] == "ACTIVE"


def test_list_parts_per_source_page_by_page_and_by_creation_time(omics, store_id) -> None:
    r1 = gz(fastq_text(200, seed=21, mate=1))
    r2 = gz(fastq_text(200, seed=21, mate=2))
    upload_id = start_upload(omics, store_id, name="paired-parts")
    pieces = [r1[:900], r1[900:2000], r1[2000:]]
    for number, piece in enumerate(pieces, start=1):
        omics.upload_read_set_part(
            sequenceStoreId=store_id,
            uploadId=upload_id,
            partSource="SOURCE1",
            partNumber=number,
            payload=piece,
        )
        time.sleep(0.05)  # distinct creation times
    send_parts(omics, store_id, upload_id, r2, "SOURCE2", cuts=[1500])

    source1 = omics.list_read_set_upload_parts(
        sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1"
    )["parts"]
    assert [(p["partNumber"], p["partSource"], p["partSize"]) for p in source1] == [
        (n, "SOURCE1", len(piece)) for n, piece in enumerate(pieces, start=1)
    ]
    assert [p["checksum"] for p in source1] == [part_checksum(piece) for piece in pieces]
    assert all(p["creationTime"] <= p["lastUpdatedTime"] for p in source1)
    source2 = omics.list_read_set_upload_parts(
        sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE2"
    )["parts"]
    assert [(p["partNumber"], p["partSource"]) for p in source2] == [(1, "SOURCE2"), (2, "SOURCE2")]

    pages = all_pages(
        omics,
        "list_read_set_upload_parts",
        "parts",
        sequenceStoreId=store_id,
        uploadId=upload_id,
        partSource="SOURCE1",
        PaginationConfig={"PageSize": 2},
    )
    assert [[p["partNumber"] for p in page] for page in pages] == [[1, 2], [3]]

    t1, t2, t3 = (p["creationTime"] for p in source1)
    assert t1 < t2 < t3

    def numbers(**window: datetime) -> list[int]:
        return [
            p["partNumber"]
            for p in omics.list_read_set_upload_parts(
                sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1", filter=window
            )["parts"]
        ]

    assert numbers(createdAfter=t1 + (t2 - t1) / 2) == [2, 3]
    assert numbers(createdBefore=t2 + (t3 - t2) / 2) == [1, 2]
    assert numbers(createdAfter=t1 + (t2 - t1) / 2, createdBefore=t2 + (t3 - t2) / 2) == [2]
    assert numbers(createdAfter=t3 + timedelta(hours=1)) == []


def test_parts_left_out_of_complete_are_not_part_of_the_read_set(omics, server, store_id) -> None:
    data = gz(fastq_text(150, seed=31))
    upload_id = start_upload(omics, store_id, name="extra-part")
    parts = send_parts(omics, store_id, upload_id, data, cuts=[700])
    send_parts(omics, store_id, upload_id, b"@stray\nACGT\n+\nIIII\n")  # replaces part 1 ...
    parts[0]["checksum"] = send_parts(omics, store_id, upload_id, data[:700])[0]["checksum"]  # ... and back
    omics.upload_read_set_part(
        sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1", partNumber=3, payload=b"junk"
    )
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts
    )["readSetId"]
    metadata = wait_for_status(omics, store_id, read_set_id)
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    assert download(omics, store_id, read_set_id) == data
    assert eventually_no_upload_files(server, upload_id) == []

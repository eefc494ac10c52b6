"""Reference stores, reference import jobs and references, as a boto3 / aws-healthomics-tools user
sees them (docs/behaviour.md, "Reference stores" to "Deleting a reference").

The session server's account may hold one reference store (the `reference_store_id` fixture), so
store creation, quota, idempotency and deletion run on separate servers of their own."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError
from omics.transfer.manager import TransferManager

from tests.helpers.alignments import write_alignments
from tests.helpers.buckets import put_object
from tests.helpers.clients import error_code, error_message, error_status, unvalidated_client
from tests.helpers.data import bgzf, gz, md5
from tests.helpers.fasta import faidx_of, fasta_bytes, random_sequences
from tests.helpers.names import ACCOUNT, PART_SIZE, REGION, ROLE_ARN, reference_arn, unique
from tests.helpers.readsets import ingest, start_upload
from tests.helpers.references import BUCKET, import_fasta, reference_part, wait_for_reference_import
from tests.helpers.servers import running_server

MS = dt.timedelta(milliseconds=1)


def midpoint(a: dt.datetime, b: dt.datetime) -> dt.datetime:
    return a + (b - a) / 2


# --- reference stores (separate servers: one store per account)


@pytest.fixture(scope="module")
def lone_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A server with the default quota of one reference store."""
    with running_server(tmp_path_factory.mktemp("lone") / "data") as (server, client):
        yield server, client


@pytest.fixture(scope="module")
def roomy_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A server whose account may hold three reference stores, with one worker thread."""
    with running_server(
        tmp_path_factory.mktemp("roomy") / "data", {"SEQSTORE_MAX_REFERENCE_STORES": "3", "SEQSTORE_CONCURRENCY": "1"}
    ) as (server, client):
        yield server, client


def test_a_user_creates_the_accounts_reference_store_and_a_retry_returns_the_same_store(lone_server) -> None:  # type: ignore[no-untyped-def]
    _, omics = lone_server
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f0e0d0c-aaaa-bbbb-cccc-123456789abc"
    request = {
        "name": "GRCh38 references",
        "description": "human genome builds",
        "sseConfig": {"type": "KMS", "keyArn": key_arn},
        "tags": {"project": "genomes", "owner": "lab-7"},
        "clientToken": "create-store-1",
    }
    created = omics.create_reference_store(**request)
    store_id = created["id"]
    assert store_id.isdigit() and len(store_id) >= 10
    assert created["arn"] == f"arn:aws:omics:{REGION}:{ACCOUNT}:referenceStore/{store_id}"
    assert created["name"] == "GRCh38 references"
    assert created["description"] == "human genome builds"
    assert created["sseConfig"] == {"type": "KMS", "keyArn": key_arn}
    assert isinstance(created["creationTime"], dt.datetime)
    assert omics.list_tags_for_resource(resourceArn=created["arn"])["tags"] == request["tags"]

    got = omics.get_reference_store(id=store_id)
    for field in ("id", "arn", "name", "description", "sseConfig", "creationTime"):
        assert got[field] == created[field], field

    # A retry with the same token and input is the same store, even though the quota is now used.
    again = omics.create_reference_store(**request)
    assert again["id"] == store_id and again["creationTime"] == created["creationTime"]
    # The same token with a different request is refused rather than silently answered.
    with pytest.raises(ClientError) as excinfo:
        omics.create_reference_store(**{**request, "name": "something else"})
    assert error_code(excinfo) == "ValidationException"
    assert [s["id"] for s in omics.list_reference_stores()["referenceStores"]] == [store_id]

    # A second store: the account allows one.
    with pytest.raises(ClientError) as excinfo:
        omics.create_reference_store(name="second store")
    assert error_code(excinfo) == "ServiceQuotaExceededException"
    assert error_status(excinfo) == 402
    assert [s["id"] for s in omics.list_reference_stores()["referenceStores"]] == [store_id]

    # Once the store is gone, the account may create one again.
    omics.delete_reference_store(id=store_id)
    replacement = omics.create_reference_store(name="replacement")
    assert replacement["id"] != store_id
    assert replacement["sseConfig"]["type"] == "KMS"  # default encryption is reported
    omics.delete_reference_store(id=replacement["id"])


def test_a_reference_store_can_only_be_deleted_once_its_references_are_deleted(lone_server) -> None:  # type: ignore[no-untyped-def]
    server, omics = lone_server
    store = omics.create_reference_store(name="to be emptied", tags={"team": "x"})
    metadata = import_fasta(omics, server, store["id"], fasta_bytes(random_sequences({"c1": 300}, seed=11)))

    with pytest.raises(ClientError) as excinfo:
        omics.delete_reference_store(id=store["id"])
    assert error_code(excinfo) == "ConflictException"
    assert omics.get_reference_store(id=store["id"])["id"] == store["id"]

    omics.delete_reference(referenceStoreId=store["id"], id=metadata["id"])
    # A DELETED reference no longer holds the store.
    omics.delete_reference_store(id=store["id"])

    with pytest.raises(ClientError) as excinfo:
        omics.get_reference_store(id=store["id"])
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        omics.list_references(referenceStoreId=store["id"])
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        omics.delete_reference_store(id=store["id"])
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert omics.list_reference_stores()["referenceStores"] == []
    # The store's tags went with it.
    try:
        tags = omics.list_tags_for_resource(resourceArn=store["arn"])["tags"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
    else:
        assert tags == {}


def test_a_reference_store_cannot_be_deleted_while_an_import_into_it_runs(lone_server) -> None:  # type: ignore[no-untyped-def]
    server, omics = lone_server
    store = omics.create_reference_store(name="busy store")
    data = fasta_bytes(random_sequences({"c1": 50_000, "c2": 20_000}, seed=12))
    sources = [{"sourceFile": put_object(server, BUCKET, f"busy/{i}.fa", data), "name": f"busy-{i}"} for i in range(2)]
    job = omics.start_reference_import_job(referenceStoreId=store["id"], roleArn=ROLE_ARN, sources=sources)

    with pytest.raises(ClientError) as excinfo:
        omics.delete_reference_store(id=store["id"])
    assert error_code(excinfo) == "ConflictException"
    assert job["id"] in error_message(excinfo)

    done = wait_for_reference_import(omics, store["id"], job["id"])
    assert done["status"] == "COMPLETED", done
    for source in done["sources"]:
        meta = omics.get_reference_metadata(referenceStoreId=store["id"], id=source["referenceId"])
        assert meta["status"] == "ACTIVE" and meta["md5"] == md5(data)
        omics.delete_reference(referenceStoreId=store["id"], id=source["referenceId"])
    omics.delete_reference_store(id=store["id"])
    assert omics.list_reference_stores()["referenceStores"] == []


def test_reference_stores_are_listed_by_name_and_creation_time_a_page_at_a_time(roomy_server) -> None:  # type: ignore[no-untyped-def]
    _, omics = roomy_server
    stores = []
    for name in ("alpha", "beta", "alpha"):
        stores.append(omics.create_reference_store(name=name))
        time.sleep(0.05)
    ids = [s["id"] for s in stores]
    times = [s["creationTime"] for s in stores]
    assert times[0] < times[1] < times[2]

    def listed(**kwargs: Any) -> list[str]:
        return [s["id"] for s in omics.list_reference_stores(**kwargs)["referenceStores"]]

    assert listed() == ids
    assert listed(filter={"name": "alpha"}) == [ids[0], ids[2]]
    assert listed(filter={"name": "gamma"}) == []
    after = midpoint(times[0], times[1])
    before = midpoint(times[1], times[2])
    assert listed(filter={"createdAfter": after}) == ids[1:]
    assert listed(filter={"createdBefore": before}) == ids[:2]
    assert listed(filter={"createdAfter": after, "createdBefore": before}) == [ids[1]]
    assert listed(filter={"name": "alpha", "createdAfter": after}) == [ids[2]]

    pages = [
        [s["id"] for s in page["referenceStores"]]
        for page in omics.get_paginator("list_reference_stores").paginate(PaginationConfig={"PageSize": 1})
    ]
    assert all(len(page) <= 1 for page in pages)
    assert [i for page in pages for i in page] == ids
    first = omics.list_reference_stores(maxResults=2)
    assert [s["id"] for s in first["referenceStores"]] == ids[:2] and first.get("nextToken")
    rest = omics.list_reference_stores(maxResults=2, nextToken=first["nextToken"])
    assert [s["id"] for s in rest["referenceStores"]] == ids[2:]

    # This account's quota is three.
    with pytest.raises(ClientError) as excinfo:
        omics.create_reference_store(name="fourth")
    assert error_code(excinfo) == "ServiceQuotaExceededException"
    for store_id in ids:
        omics.delete_reference_store(id=store_id)
    assert listed() == []


# --- reference import jobs and references (the session server's reference store)

PLAIN = fasta_bytes(random_sequences({"chrA": 5000, "chrB": 777, "chrC": 61}, seed=101), description="{name} of the test genome")
OTHER = fasta_bytes(random_sequences({"scaffold_1": 4000, "scaffold_2": 130}, seed=102), width=70)


@pytest.fixture(scope="module")
def imported(server, omics, reference_store_id: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One job importing a plain FASTA, a gzip FASTA and a BGZF FASTA, waited for with boto3's
    reference_import_job_completed waiter."""
    tmp = tmp_path_factory.mktemp("reference-imports")
    stamp = unique("imp")
    sources = [
        {
            "sourceFile": put_object(server, BUCKET, f"{stamp}/genome.fa", PLAIN),
            "name": f"{stamp}-plain",
            "description": "plain FASTA",
            "tags": {"kind": "plain", "build": "test-1"},
        },
        {
            "sourceFile": put_object(server, BUCKET, f"{stamp}/other.fasta.gz", gz(OTHER)),
            "name": f"{stamp}-gzip",
            "description": "gzip FASTA",
            "tags": {"kind": "gzip"},
        },
        {"sourceFile": put_object(server, BUCKET, f"{stamp}/genome.fna.gz", bgzf(PLAIN, tmp)), "name": f"{stamp}-bgzf"},
    ]
    request = {"referenceStoreId": reference_store_id, "roleArn": ROLE_ARN, "sources": sources, "clientToken": stamp}
    started = omics.start_reference_import_job(**request)
    omics.get_waiter("reference_import_job_completed").wait(
        referenceStoreId=reference_store_id, id=started["id"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    job = omics.get_reference_import_job(referenceStoreId=reference_store_id, id=started["id"])
    return {"request": request, "started": started, "job": job, "plains": [PLAIN, OTHER, PLAIN], "tmp": tmp}


def test_starting_an_import_returns_a_submitted_job_and_a_retry_with_the_same_token_returns_it_again(
    omics, imported: dict[str, Any]
) -> None:
    started, request = imported["started"], imported["request"]
    assert started["status"] == "SUBMITTED"
    assert started["referenceStoreId"] == request["referenceStoreId"]
    assert started["roleArn"] == ROLE_ARN
    assert started["id"].isdigit()

    assert omics.start_reference_import_job(**request)["id"] == started["id"]
    with pytest.raises(ClientError) as excinfo:
        omics.start_reference_import_job(**{**request, "sources": request["sources"][:1]})
    assert error_code(excinfo) == "ValidationException"


def test_the_import_job_reports_every_source_with_its_new_reference(imported: dict[str, Any]) -> None:
    job, sources = imported["job"], imported["request"]["sources"]
    assert job["status"] == "COMPLETED", job
    assert job["statusMessage"]
    assert job["completionTime"] >= job["creationTime"]
    assert len(job["sources"]) == 3
    for submitted, reported in zip(sources, job["sources"], strict=True):
        assert reported["status"] == "FINISHED", reported
        assert reported["sourceFile"] == submitted["sourceFile"]
        assert reported["name"] == submitted["name"]
        assert reported.get("description") == submitted.get("description")
        assert reported.get("tags", {}) == submitted.get("tags", {})
        assert reported["referenceId"].isdigit()
    assert len({s["referenceId"] for s in job["sources"]}) == 3


def test_reference_metadata_describes_the_stored_plain_fasta_and_its_index(
    omics, imported: dict[str, Any], reference_store_id: str
) -> None:
    job, sources = imported["job"], imported["request"]["sources"]
    for submitted, reported, plain in zip(sources, job["sources"], imported["plains"], strict=True):
        meta = omics.get_reference_metadata(referenceStoreId=reference_store_id, id=reported["referenceId"])
        reference_id = reported["referenceId"]
        assert meta["id"] == reference_id
        assert meta["arn"] == reference_arn(reference_store_id, reference_id)
        assert meta["referenceStoreId"] == reference_store_id
        # md5 of the plain FASTA, also for gzip and BGZF input (the FASTA is stored decompressed).
        assert meta["md5"] == md5(plain), submitted["name"]
        assert meta["status"] == "ACTIVE"
        assert meta["name"] == submitted["name"]
        assert meta.get("description") == submitted.get("description")
        assert meta["creationType"] == "IMPORT"
        assert meta["creationJobId"] == job["id"]
        assert job["creationTime"] <= meta["creationTime"] <= meta["updateTime"]
        index = faidx_of(plain, imported["tmp"])
        s3_uris = {file: meta["files"][file].pop("s3Access")["s3Uri"] for file in ("source", "index")}
        assert meta["files"] == {
            "source": {"contentLength": len(plain), "partSize": PART_SIZE, "totalParts": 1},
            "index": {"contentLength": len(index), "partSize": PART_SIZE, "totalParts": 1},
        }
        # Readable through the S3 plane (tests/test_s3_plane.py): the store's alias, the reference's key.
        assert s3_uris["index"] == s3_uris["source"] + ".fai"
        assert f"-s3alias/{ACCOUNT}/referenceStore/{reference_store_id}/reference/{reference_id}/" in s3_uris["source"]
        assert omics.list_tags_for_resource(resourceArn=meta["arn"])["tags"] == submitted.get("tags", {})


def test_metadata_of_an_unknown_reference_or_store_says_which_is_missing(
    omics, imported: dict[str, Any], reference_store_id: str
) -> None:
    known = imported["job"]["sources"][0]["referenceId"]
    for store, reference, missing in (
        (reference_store_id, "1234567890", f"Reference 1234567890 not found in reference store {reference_store_id}"),
        ("1234567890", known, "Reference store 1234567890 not found"),
    ):
        with pytest.raises(ClientError) as excinfo:
            omics.get_reference_metadata(referenceStoreId=store, id=reference)
        assert error_code(excinfo) == "ResourceNotFoundException"
        assert error_message(excinfo) == missing


def test_get_reference_serves_the_plain_fasta_and_the_faidx_index(
    omics, imported: dict[str, Any], reference_store_id: str
) -> None:
    for reported, plain in zip(imported["job"]["sources"], imported["plains"], strict=True):
        reference_id = reported["referenceId"]
        assert reference_part(omics, reference_store_id, reference_id, file="SOURCE") == plain
        assert reference_part(omics, reference_store_id, reference_id) == plain  # file omitted = SOURCE
        assert reference_part(omics, reference_store_id, reference_id, file="INDEX") == faidx_of(plain, imported["tmp"])


def test_get_reference_serves_byte_ranges_within_a_part(omics, imported: dict[str, Any], reference_store_id: str) -> None:
    reference_id = imported["job"]["sources"][1]["referenceId"]
    plain = OTHER

    def ranged(value: str, file: str | None = None) -> bytes:
        return reference_part(omics, reference_store_id, reference_id, file=file, byte_range=value)

    assert ranged("0-9") == plain[:10]
    assert ranged("10-") == plain[10:]
    assert ranged("-5") == plain[-5:]
    assert ranged("100-1099") == plain[100:1100]
    assert ranged(f"{len(plain) - 1}-{len(plain) - 1}") == plain[-1:]
    index = faidx_of(plain, imported["tmp"])
    assert ranged("0-9", file="INDEX") == index[:10]

    for beyond in (f"{len(plain)}-{len(plain) + 10}", f"{len(plain) + 5}-"):
        with pytest.raises(ClientError) as excinfo:
            ranged(beyond)
        assert error_code(excinfo) == "RangeNotSatisfiableException", beyond
    with pytest.raises(ClientError) as excinfo:
        ranged("bytes=0-9")
    assert error_code(excinfo) == "ValidationException"
    for file in ("SOURCE", "INDEX"):
        with pytest.raises(ClientError) as excinfo:
            reference_part(omics, reference_store_id, reference_id, part=2, file=file)
        assert error_code(excinfo) == "RangeNotSatisfiableException"


def test_references_are_listed_by_name_md5_and_creation_time_a_page_at_a_time(
    omics, imported: dict[str, Any], reference_store_id: str
) -> None:
    ids = [s["referenceId"] for s in imported["job"]["sources"]]
    names = [s["name"] for s in imported["request"]["sources"]]
    metas = [omics.get_reference_metadata(referenceStoreId=reference_store_id, id=i) for i in ids]
    times = [m["creationTime"] for m in metas]
    assert times[0] < times[1] < times[2]

    def listed(**flt: Any) -> list[str]:
        return [
            r["id"]
            for r in omics.list_references(referenceStoreId=reference_store_id, filter=flt)["references"]
        ]

    assert listed(name=names[1]) == [ids[1]]
    assert listed(name=unique("no-such-name")) == []
    assert listed(md5=md5(PLAIN)) == [ids[0], ids[2]]  # the plain and the BGZF import of one FASTA
    assert listed(md5=md5(OTHER)) == [ids[1]]
    start = times[0] - MS
    assert listed(createdAfter=start) == ids
    assert listed(createdAfter=midpoint(times[0], times[1])) == ids[1:]
    assert listed(createdAfter=start, createdBefore=midpoint(times[1], times[2])) == ids[:2]
    assert listed(md5=md5(PLAIN), createdAfter=midpoint(times[0], times[1])) == [ids[2]]

    items = omics.list_references(referenceStoreId=reference_store_id, filter={"name": names[0]})["references"]
    assert len(items) == 1
    item, meta = items[0], metas[0]
    for field in ("id", "arn", "referenceStoreId", "md5", "status", "name", "description", "creationTime", "updateTime"):
        assert item[field] == meta[field], field

    pages = [
        [r["id"] for r in page["references"]]
        for page in omics.get_paginator("list_references").paginate(
            referenceStoreId=reference_store_id, filter={"createdAfter": start}, PaginationConfig={"PageSize": 1}
        )
    ]
    assert all(len(page) <= 1 for page in pages)
    assert [i for page in pages for i in page] == ids


def test_import_jobs_are_listed_by_status_and_creation_time_a_page_at_a_time(
    server, omics, imported: dict[str, Any], reference_store_id: str
) -> None:
    good = imported["job"]
    # A job whose only source is missing fails as a whole.
    missing = f"s3://reference-tests/{unique('gone')}/absent.fa"
    started = omics.start_reference_import_job(
        referenceStoreId=reference_store_id, roleArn=ROLE_ARN, sources=[{"sourceFile": missing, "name": "never"}]
    )
    with pytest.raises(WaiterError):
        omics.get_waiter("reference_import_job_completed").wait(
            referenceStoreId=reference_store_id, id=started["id"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    bad = wait_for_reference_import(omics, reference_store_id, started["id"])
    assert bad["status"] == "FAILED" and bad["statusMessage"]
    assert bad["sources"][0]["status"] == "FAILED"
    assert "referenceId" not in bad["sources"][0]

    def listed(**kwargs: Any) -> list[str]:
        jobs = omics.list_reference_import_jobs(referenceStoreId=reference_store_id, **kwargs)["importJobs"]
        return [j["id"] for j in jobs]

    start = good["creationTime"] - MS
    mine = [good["id"], bad["id"]]
    assert [i for i in listed(filter={"createdAfter": start}) if i in mine] == mine
    assert good["id"] in listed(filter={"status": "COMPLETED"})
    assert good["id"] not in listed(filter={"status": "FAILED"})
    assert bad["id"] in listed(filter={"status": "FAILED", "createdAfter": start})
    assert bad["id"] not in listed(filter={"status": "COMPLETED"})
    assert listed(filter={"createdBefore": start}).count(good["id"]) == 0
    between = listed(filter={"createdAfter": start, "createdBefore": midpoint(good["creationTime"], bad["creationTime"])})
    assert good["id"] in between and bad["id"] not in between

    summary = next(
        j
        for j in omics.list_reference_import_jobs(referenceStoreId=reference_store_id, filter={"createdAfter": start})[
            "importJobs"
        ]
        if j["id"] == good["id"]
    )
    assert summary["referenceStoreId"] == reference_store_id
    assert summary["roleArn"] == ROLE_ARN
    assert summary["status"] == "COMPLETED"
    assert summary["creationTime"] == good["creationTime"]
    assert summary["completionTime"] == good["completionTime"]

    pages = [
        [j["id"] for j in page["importJobs"]]
        for page in omics.get_paginator("list_reference_import_jobs").paginate(
            referenceStoreId=reference_store_id, filter={"createdAfter": start}, PaginationConfig={"PageSize": 1}
        )
    ]
    flat = [i for page in pages for i in page]
    assert all(len(page) <= 1 for page in pages)
    assert len(flat) == len(set(flat)) and [i for i in flat if i in mine] == mine


def test_an_import_takes_one_to_one_hundred_sources(server, omics, reference_store_id: str) -> None:
    raw = unvalidated_client(server.url)
    uri = f"s3://reference-tests/{unique('none')}/absent.fa"
    for count in (0, 101):
        with pytest.raises(ClientError) as excinfo:
            raw.start_reference_import_job(
                referenceStoreId=reference_store_id,
                roleArn=ROLE_ARN,
                sources=[{"sourceFile": uri, "name": f"src-{i}"} for i in range(count)],
            )
        assert error_code(excinfo) == "ValidationException", count
    with pytest.raises(ClientError) as excinfo:  # a reference name has 3..255 characters
        raw.start_reference_import_job(
            referenceStoreId=reference_store_id, roleArn=ROLE_ARN, sources=[{"sourceFile": uri, "name": "ab"}]
        )
    assert error_code(excinfo) == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        omics.start_reference_import_job(
            referenceStoreId="9999999999", roleArn=ROLE_ARN, sources=[{"sourceFile": uri, "name": "abc"}]
        )
    assert error_code(excinfo) == "ResourceNotFoundException"

    hundred = [{"sourceFile": f"{uri[:-3]}{i}.fa", "name": f"source-{i:03d}"} for i in range(100)]
    job = omics.start_reference_import_job(referenceStoreId=reference_store_id, roleArn=ROLE_ARN, sources=hundred)
    done = wait_for_reference_import(omics, reference_store_id, job["id"])
    assert len(done["sources"]) == 100
    assert [s["name"] for s in done["sources"]] == [s["name"] for s in hundred]
    assert {s["status"] for s in done["sources"]} == {"FAILED"}
    assert done["status"] == "FAILED"


def test_a_reference_in_use_cannot_be_deleted_until_its_read_sets_are(
    server, omics, reference_store_id: str, store_id: str, tmp_path: Path
) -> None:
    sequences = random_sequences({"chr1": 3000, "chr2": 2000}, seed=131)
    data = fasta_bytes(sequences)
    meta = import_fasta(omics, server, reference_store_id, data)
    arn, reference_id = meta["arn"], meta["id"]
    bam = write_alignments(tmp_path / "aligned.bam", sequences, seed=132, reads=60).read_bytes()

    def delete_fails_with(code: str) -> str:
        with pytest.raises(ClientError) as excinfo:
            omics.delete_reference(referenceStoreId=reference_store_id, id=reference_id)
        assert error_code(excinfo) == code
        return error_message(excinfo)

    # An open upload naming the reference holds it.
    upload_id = start_upload(omics, store_id, "BAM", referenceArn=arn)
    delete_fails_with("ConflictException")
    omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id)

    read_set = ingest(omics, store_id, "BAM", bam, referenceArn=arn)
    assert read_set["status"] == "ACTIVE", read_set.get("statusMessage")
    assert read_set["referenceArn"] == arn
    assert read_set["id"] in delete_fails_with("ConflictException")
    assert omics.get_reference_metadata(referenceStoreId=reference_store_id, id=reference_id)["status"] == "ACTIVE"
    assert reference_part(omics, reference_store_id, reference_id) == data

    assert not omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[read_set["id"]]).get("errors")
    omics.delete_reference(referenceStoreId=reference_store_id, id=reference_id)

    gone = omics.get_reference_metadata(referenceStoreId=reference_store_id, id=reference_id)
    assert gone["status"] == "DELETED"
    assert gone["md5"] == md5(data) and gone["name"] == meta["name"]
    assert omics.list_references(referenceStoreId=reference_store_id, filter={"name": meta["name"]})["references"] == []
    for file in ("SOURCE", "INDEX"):
        with pytest.raises(ClientError) as excinfo:
            reference_part(omics, reference_store_id, reference_id, file=file)
        assert error_code(excinfo) == "ResourceNotFoundException"

    # New read sets cannot name a deleted reference.
    failed = ingest(omics, store_id, "BAM", bam, referenceArn=arn)
    assert failed["status"] == "UPLOAD_FAILED"
    assert arn in failed["statusMessage"] or reference_id in failed["statusMessage"]


def test_a_reference_named_by_a_queued_read_set_import_cannot_be_deleted(roomy_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """On a server with one worker thread, a read set import waits behind a slower job; the
    reference its source names is in use all the same."""
    server, omics = roomy_server
    reference_store_id = omics.create_reference_store(name="queued imports")["id"]
    sequence_store_id = omics.create_sequence_store(name="queued imports")["id"]
    sequences = random_sequences({"chr1": 2500}, seed=151)
    meta = import_fasta(omics, server, reference_store_id, fasta_bytes(sequences))
    bam = write_alignments(tmp_path / "sample.bam", sequences, seed=152, reads=40).read_bytes()
    uri = put_object(server, BUCKET, f"{unique('readsets')}/sample.bam", bam)

    slow_fasta = fasta_bytes(random_sequences({"x": 60_000}, seed=153))[3:] * 300  # ~18 MB of lines
    slow = omics.start_reference_import_job(
        referenceStoreId=reference_store_id,
        roleArn=ROLE_ARN,
        sources=[{"sourceFile": put_object(server, BUCKET, "slow/slow.fa", b">slow\n" + slow_fasta), "name": "slow"}],
    )
    job = omics.start_read_set_import_job(
        sequenceStoreId=sequence_store_id,
        roleArn=ROLE_ARN,
        sources=[
            {
                "sourceFiles": {"source1": uri},
                "sourceFileType": "BAM",
                "subjectId": "subject-1",
                "sampleId": "sample-1",
                "referenceArn": meta["arn"],
                "name": "imported-bam",
            }
        ],
    )
    with pytest.raises(ClientError) as excinfo:
        omics.delete_reference(referenceStoreId=reference_store_id, id=meta["id"])
    assert error_code(excinfo) == "ConflictException"

    deadline = time.monotonic() + 60
    while (done := omics.get_read_set_import_job(sequenceStoreId=sequence_store_id, id=job["id"]))["status"] in (
        "SUBMITTED",
        "IN_PROGRESS",
    ):
        assert time.monotonic() < deadline, done
        time.sleep(0.05)
    assert done["status"] == "COMPLETED", done
    read_set_id = done["sources"][0]["readSetId"]
    read_set = omics.get_read_set_metadata(sequenceStoreId=sequence_store_id, id=read_set_id)
    assert read_set["status"] == "ACTIVE" and read_set["referenceArn"] == meta["arn"]
    assert omics.get_reference_metadata(referenceStoreId=reference_store_id, id=meta["id"])["status"] == "ACTIVE"

    # Clean up, so the store listing test sees an empty account.
    slow_done = wait_for_reference_import(omics, reference_store_id, slow["id"])
    assert not omics.batch_delete_read_set(sequenceStoreId=sequence_store_id, ids=[read_set_id]).get("errors")
    omics.delete_sequence_store(id=sequence_store_id)
    for reference_id in (meta["id"], slow_done["sources"][0]["referenceId"]):
        omics.delete_reference(referenceStoreId=reference_store_id, id=reference_id)
    omics.delete_reference_store(id=reference_store_id)


def test_the_transfer_manager_downloads_a_reference_and_its_index(
    omics, reference: dict[str, Any], tmp_path: Path
) -> None:
    fasta = Path(str(reference["fasta"]))
    TransferManager(omics).download_reference(str(reference["store_id"]), str(reference["id"]), str(tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["test-genome.fasta", "test-genome.fasta.fai"]
    assert (tmp_path / "out" / "test-genome.fasta").read_bytes() == fasta.read_bytes()
    expected_index = faidx_of(fasta.read_bytes(), tmp_path)
    assert (tmp_path / "out" / "test-genome.fasta.fai").read_bytes() == expected_index
    # The index describes the sequences the fixture wrote.
    lines = [line.split("\t") for line in expected_index.decode().splitlines()]
    sequences = dict(reference["sequences"])  # type: ignore[call-overload]
    assert [(f[0], int(f[1])) for f in lines] == [(n, len(s)) for n, s in sequences.items()]


def test_a_reference_larger_than_one_part_is_served_in_100_mib_parts(
    server, omics, reference_store_id: str, tmp_path: Path
) -> None:
    """The one test with a big file (~107 MB): part n is bytes [(n-1)·partSize, n·partSize)."""
    line_block = fasta_bytes(random_sequences({"x": 60_000}, seed=141))[3:]  # 1,000 lines of 60 bases
    data = b">big repeated random lines\n" + line_block * 1_760 + b">small\nACGTACGTAC\n"
    assert PART_SIZE < len(data) < 2 * PART_SIZE
    name = unique("big")
    uri = put_object(server, BUCKET, f"{name}/big.fasta", data)
    job = omics.start_reference_import_job(
        referenceStoreId=reference_store_id, roleArn=ROLE_ARN, sources=[{"sourceFile": uri, "name": name}]
    )
    done = wait_for_reference_import(omics, reference_store_id, job["id"])
    assert done["status"] == "COMPLETED", done
    reference_id = done["sources"][0]["referenceId"]
    (server.data_dir / "buckets" / "reference-tests" / name / "big.fasta").unlink()
    try:
        meta = omics.get_reference_metadata(referenceStoreId=reference_store_id, id=reference_id)
        source = {k: v for k, v in meta["files"]["source"].items() if k != "s3Access"}
        assert source == {"contentLength": len(data), "partSize": PART_SIZE, "totalParts": 2}
        assert meta["md5"] == md5(data)
        assert reference_part(omics, reference_store_id, reference_id, part=1) == data[:PART_SIZE]
        assert reference_part(omics, reference_store_id, reference_id, part=2) == data[PART_SIZE:]
        assert reference_part(omics, reference_store_id, reference_id, part=2, byte_range="0-9") == data[
            PART_SIZE : PART_SIZE + 10
        ]
        assert reference_part(omics, reference_store_id, reference_id, part=2, byte_range="-20") == data[-20:]
        with pytest.raises(ClientError) as excinfo:
            reference_part(omics, reference_store_id, reference_id, part=2, byte_range=f"{len(data) - PART_SIZE}-")
        assert error_code(excinfo) == "RangeNotSatisfiableException"
        with pytest.raises(ClientError) as excinfo:
            reference_part(omics, reference_store_id, reference_id, part=3)
        assert error_code(excinfo) == "RangeNotSatisfiableException"

        TransferManager(omics).download_reference(reference_store_id, reference_id, str(tmp_path))
        assert (tmp_path / f"{name}.fasta").read_bytes() == data
        index = (tmp_path / f"{name}.fasta.fai").read_text().splitlines()
        assert [line.split("\t")[:2] for line in index] == [["big", str(1_760_000 * 60)], ["small", "10"]]
    finally:
        omics.delete_reference(referenceStoreId=reference_store_id, id=reference_id)

"""Read sets as a user sees them after a direct upload: what ingestion reports for every file type
(checked against htslib, gzip and hashlib), their metadata, downloads, listing, batch deletion and
tags."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.helpers.alignments import BAI_MAGIC, alignment_counts, sam_text, sam_to_bam, write_bam, write_ubam
from tests.helpers.clients import all_pages, error_code, error_message, ids, make_client, unvalidated_client
from tests.helpers.data import GZIP_MAGIC, bgzf, digest, gz, md5
from tests.helpers.fastq import fastq_counts, fastq_text, paired_fastq
from tests.helpers.names import ACCOUNT, OTHER_REFERENCE_ARN, PART_SIZE, REFERENCE_ARN, REGION, unique
from tests.helpers.paths import TESTDATA
from tests.helpers.readsets import download, ingest, read_set_files, start_upload, upload, wait_for_status


@pytest.fixture(scope="module")
def bam(files: Path, genome: Path) -> Path:
    return write_bam(files / "aligned.bam", genome, 600, seed=101)


@pytest.fixture(scope="module")
def ubam(files: Path) -> Path:
    return write_ubam(files / "unaligned.bam", 250, seed=202)


@pytest.fixture(scope="module")
def no_retry_omics(server):  # type: ignore[no-untyped-def]
    """A client that does not retry, for answers botocore would otherwise retry (416)."""
    return make_client(server.url, Config(retries={"max_attempts": 1}))


def active(metadata: dict[str, Any]) -> dict[str, Any]:
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    return metadata


# --- ingestion: FASTQ


def test_gzip_fastq_is_counted_hashed_and_served_as_uploaded(omics, store_id) -> None:
    plain = fastq_text(1500, seed=1, read_length=100)
    data = gz(plain)
    metadata = active(ingest(omics, store_id, "FASTQ", data, cuts=[len(data) // 3, len(data) // 2]))

    reads, bases = fastq_counts(plain)
    assert metadata["sequenceInformation"]["totalReadCount"] == reads == 1500
    assert metadata["sequenceInformation"]["totalBaseCount"] == bases
    assert metadata["sequenceInformation"]["alignment"] == "UNALIGNED"
    assert metadata["etag"] == {"algorithm": "FASTQ_MD5up", "source1": md5(plain)}
    assert set(metadata["files"]) == {"source1"}
    assert download(omics, store_id, metadata["id"]) == data


def test_paired_fastq_counts_reads_and_bases_over_both_sources(omics, store_id) -> None:
    r1, r2 = paired_fastq(800, seed=2, read_length=150)
    metadata = active(ingest(omics, store_id, "FASTQ", gz(r1), gz(r2)))

    reads, bases = fastq_counts(r1, r2)
    assert metadata["sequenceInformation"]["totalReadCount"] == reads == 1600
    assert metadata["sequenceInformation"]["totalBaseCount"] == bases
    assert metadata["etag"] == {
        "algorithm": "FASTQ_MD5up",
        "source1": md5(r1),
        "source2": md5(r2),
    }
    assert set(metadata["files"]) == {"source1", "source2"}
    assert download(omics, store_id, metadata["id"], "SOURCE1") == gz(r1)
    assert download(omics, store_id, metadata["id"], "SOURCE2") == gz(r2)


def test_bgzf_fastq_is_accepted_and_hashed_on_its_decompressed_content(omics, store_id, files) -> None:
    plain = fastq_text(2000, seed=3, read_length=120)
    data = bgzf(plain, files)
    assert data[12:14] == b"BC"  # really BGZF, with several blocks
    metadata = active(ingest(omics, store_id, "FASTQ", data))
    assert metadata["sequenceInformation"]["totalReadCount"] == 2000
    assert metadata["sequenceInformation"]["totalBaseCount"] == fastq_counts(plain)[1]
    assert metadata["etag"]["source1"] == hashlib_md5_of_gunzip(data) == md5(plain)
    assert download(omics, store_id, metadata["id"]) == data


def hashlib_md5_of_gunzip(data: bytes) -> str:
    return md5(gzip.decompress(data))


def test_multi_member_gzip_fastq_is_hashed_over_all_members(omics, store_id) -> None:
    first, second = fastq_text(100, seed=4, prefix="a"), fastq_text(150, seed=5, prefix="b")
    data = gz(first) + gz(second)  # e.g. two lane files concatenated with cat
    metadata = active(ingest(omics, store_id, "FASTQ", data))
    assert metadata["sequenceInformation"]["totalReadCount"] == 250
    assert metadata["etag"]["source1"] == md5(gzip.decompress(data))


def test_plain_fastq_is_stored_gzip_compressed(omics, store_id) -> None:
    plain = fastq_text(500, seed=6)
    metadata = active(ingest(omics, store_id, "FASTQ", plain, cuts=[1234]))
    assert metadata["etag"]["source1"] == md5(plain)
    assert metadata["sequenceInformation"]["totalReadCount"] == 500
    served = download(omics, store_id, metadata["id"])
    assert served.startswith(GZIP_MAGIC)
    assert gzip.decompress(served) == plain
    assert metadata["files"]["source1"]["contentLength"] == len(served)
    assert metadata["files"]["source1"]["s3Access"]["s3Uri"].endswith("_source1.fastq.gz")


def test_real_paired_fastq_from_htslib(omics, store_id) -> None:
    r1 = (TESTDATA / "fastq" / "r1.fq").read_bytes()
    r2 = (TESTDATA / "fastq" / "r2.fq").read_bytes()
    metadata = active(ingest(omics, store_id, "FASTQ", gz(r1), gz(r2)))
    reads, bases = fastq_counts(r1, r2)
    assert metadata["sequenceInformation"]["totalReadCount"] == reads == 10
    assert metadata["sequenceInformation"]["totalBaseCount"] == bases
    assert metadata["etag"]["source1"] == md5(r1)
    assert metadata["etag"]["source2"] == md5(r2)


@pytest.mark.parametrize("name", ["UMI.fq", "filter_casava.fq", "longline.fq"])
def test_real_single_line_fastq_from_htslib(omics, store_id, name: str) -> None:
    plain = (TESTDATA / "fastq" / name).read_bytes()
    metadata = active(ingest(omics, store_id, "FASTQ", gz(plain)))
    reads, bases = fastq_counts(plain)
    assert metadata["sequenceInformation"]["totalReadCount"] == reads
    assert metadata["sequenceInformation"]["totalBaseCount"] == bases
    assert metadata["etag"]["source1"] == md5(plain)


# --- ingestion: BAM, uBAM, CRAM


def test_aligned_bam_is_counted_without_secondary_and_supplementary_records(
    omics, store_id, bam: Path, genome_arn: str
) -> None:
    data = bam.read_bytes()
    metadata = active(ingest(omics, store_id, "BAM", data, cuts=[len(data) // 2], referenceArn=genome_arn))

    reads, bases = alignment_counts(bam)
    assert reads == 600 + 1 + 5 + 1  # forward/reverse reads, a clipped read, unmapped reads
    info = metadata["sequenceInformation"]
    assert (info["totalReadCount"], info["totalBaseCount"]) == (reads, bases)
    assert info["alignment"] == "ALIGNED"
    assert metadata["etag"] == {"algorithm": "BAM_MD5up", "source1": md5(sam_text(bam))}
    assert metadata["fileType"] == "BAM"
    assert metadata["referenceArn"] == genome_arn
    assert set(metadata["files"]) == {"source1", "index"}
    assert download(omics, store_id, metadata["id"]) == data
    assert download(omics, store_id, metadata["id"], "INDEX").startswith(BAI_MAGIC)


def test_real_bam_from_htslib(omics, store_id, ce_arn: str) -> None:
    path = TESTDATA / "range.bam"
    data = path.read_bytes()
    metadata = active(ingest(omics, store_id, "BAM", data, referenceArn=ce_arn))
    reads, bases = alignment_counts(path)
    assert reads == 112
    info = metadata["sequenceInformation"]
    assert (info["totalReadCount"], info["totalBaseCount"]) == (reads, bases)
    assert metadata["etag"]["source1"] == md5(sam_text(path))
    assert download(omics, store_id, metadata["id"]) == data
    assert download(omics, store_id, metadata["id"], "INDEX").startswith(BAI_MAGIC)


def test_real_sam_with_supplementary_alignments_converted_to_bam(omics, store_id, files, ce_arn: str) -> None:
    bam = sam_to_bam(TESTDATA / "ce#supp.sam", files / "ce_supp.bam")
    metadata = active(ingest(omics, store_id, "BAM", bam.read_bytes(), referenceArn=ce_arn))
    reads, bases = alignment_counts(bam)
    assert (reads, bases) == (2, 200)  # the two 0x800 records of the four are not counted
    info = metadata["sequenceInformation"]
    assert (info["totalReadCount"], info["totalBaseCount"]) == (reads, bases)
    assert metadata["etag"]["source1"] == md5(sam_text(bam))


def test_unaligned_bam_is_unaligned_and_hashed_like_bam(omics, store_id, ubam: Path) -> None:
    data = ubam.read_bytes()
    metadata = active(ingest(omics, store_id, "UBAM", data))  # no reference needed
    reads, bases = alignment_counts(ubam)
    assert reads == 500
    info = metadata["sequenceInformation"]
    assert (info["totalReadCount"], info["totalBaseCount"]) == (reads, bases)
    assert info["alignment"] == "UNALIGNED"
    assert metadata["etag"] == {"algorithm": "BAM_MD5up", "source1": md5(sam_text(ubam))}
    assert metadata["fileType"] == "UBAM"
    assert "referenceArn" not in metadata
    assert download(omics, store_id, metadata["id"]) == data


def test_cram_is_decoded_with_its_reference_counted_hashed_and_indexed(
    omics, store_id, files: Path, genome: Path, genome_arn: str
) -> None:
    cram = write_bam(files / "aligned.cram", genome, 500, seed=103, file_format="cram")
    data = cram.read_bytes()
    assert data.startswith(b"CRAM")
    metadata = active(ingest(omics, store_id, "CRAM", data, cuts=[len(data) // 3], referenceArn=genome_arn))

    reads, bases = alignment_counts(cram, genome)
    info = metadata["sequenceInformation"]
    assert (info["totalReadCount"], info["totalBaseCount"]) == (reads, bases)
    assert info["alignment"] == "ALIGNED"
    assert metadata["etag"] == {"algorithm": "CRAM_MD5up", "source1": md5(sam_text(cram, genome))}
    assert set(metadata["files"]) == {"source1", "index"}
    assert metadata["files"]["index"]["s3Access"]["s3Uri"].endswith(".cram.crai")
    assert download(omics, store_id, metadata["id"]) == data
    # A CRAI is gzip-compressed text, one line of six numbers per slice.
    crai = gzip.decompress(download(omics, store_id, metadata["id"], "INDEX")).decode()
    assert crai and all(len(line.split("\t")) == 6 for line in crai.splitlines())


@pytest.mark.parametrize("name", ["range.cram", "ce#5b_java.cram"])
def test_real_cram_from_htslib_and_htsjdk(omics, store_id, ce_arn: str, name: str) -> None:
    path = TESTDATA / name
    metadata = active(ingest(omics, store_id, "CRAM", path.read_bytes(), referenceArn=ce_arn))
    ce = TESTDATA / "ce.fa"
    reads, bases = alignment_counts(path, ce)
    info = metadata["sequenceInformation"]
    assert (info["totalReadCount"], info["totalBaseCount"]) == (reads, bases)
    assert metadata["etag"]["source1"] == md5(sam_text(path, ce))
    assert download(omics, store_id, metadata["id"]) == path.read_bytes()


def test_cram_whose_reference_this_server_does_not_hold_fails_with_a_clear_message(omics, store_id) -> None:
    data = (TESTDATA / "range.cram").read_bytes()
    metadata = ingest(omics, store_id, "CRAM", data, referenceArn=REFERENCE_ARN)
    assert metadata["status"] == "UPLOAD_FAILED"
    assert "reference" in metadata["statusMessage"].lower()
    assert REFERENCE_ARN in metadata["statusMessage"]
    assert "files" not in metadata


def test_a_sha256_store_gives_sha256_etags_for_fastq_and_bam(omics, bam: Path, genome_arn: str) -> None:
    store = omics.create_sequence_store(name=unique("sha256"), eTagAlgorithmFamily="SHA256up")["id"]
    r1, r2 = paired_fastq(300, seed=9)
    fastq = active(ingest(omics, store, "FASTQ", gz(r1), gz(r2)))
    assert fastq["etag"] == {
        "algorithm": "FASTQ_SHA256up",
        "source1": digest(r1, "sha256"),
        "source2": digest(r2, "sha256"),
    }
    aligned = active(ingest(omics, store, "BAM", bam.read_bytes(), referenceArn=genome_arn))
    assert aligned["etag"] == {"algorithm": "BAM_SHA256up", "source1": digest(sam_text(bam), "sha256")}
    assert re.fullmatch(r"[0-9a-f]{64}", aligned["etag"]["source1"])


# --- GetReadSetMetadata


def test_metadata_has_every_field_of_an_ingested_read_set(omics, store_id) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    r1, r2 = paired_fastq(400, seed=10)
    g1, g2 = gz(r1), gz(r2)
    name = unique("exome")
    read_set_id = upload(
        omics,
        store_id,
        "FASTQ",
        g1,
        g2,
        name=name,
        description="tumour sample, lane 2",
        subjectId="patient-9",
        sampleId="tumour-1",
        generatedFrom="HiSeq 4000",
        referenceArn=REFERENCE_ARN,
    )
    metadata = active(wait_for_status(omics, store_id, read_set_id))
    assert metadata["id"] == read_set_id
    assert (
        metadata["arn"] == f"arn:aws:omics:{REGION}:{ACCOUNT}:sequenceStore/{store_id}/readSet/{read_set_id}"
    )
    assert metadata["sequenceStoreId"] == store_id
    assert metadata["subjectId"] == "patient-9"
    assert metadata["sampleId"] == "tumour-1"
    assert metadata["name"] == name
    assert metadata["description"] == "tumour sample, lane 2"
    assert metadata["fileType"] == "FASTQ"
    assert before <= metadata["creationTime"] <= datetime.now(UTC) + timedelta(seconds=2)
    assert metadata["referenceArn"] == REFERENCE_ARN
    assert metadata["creationType"] == "UPLOAD"
    assert metadata["creationJobId"].isdigit()
    assert "statusMessage" not in metadata
    reads, bases = fastq_counts(r1, r2)
    assert metadata["sequenceInformation"] == {
        "totalReadCount": reads,
        "totalBaseCount": bases,
        "generatedFrom": "HiSeq 4000",
        "alignment": "UNALIGNED",
    }
    assert metadata["etag"]["algorithm"] == "FASTQ_MD5up"
    prefix = f"/{ACCOUNT}/sequenceStore/{store_id}/readSet/{read_set_id}/"
    for key, data in (("source1", g1), ("source2", g2)):
        file = metadata["files"][key]
        assert file["contentLength"] == len(data)
        assert file["partSize"] == PART_SIZE
        assert file["totalParts"] == 1
        assert re.fullmatch(
            r"s3://[^/]+(/[^/]+)*" + re.escape(prefix) + re.escape(f"{name}_{key}.fastq.gz"), file["s3Access"]["s3Uri"]
        )
    assert "index" not in metadata["files"]


def test_metadata_of_unknown_read_sets_and_stores_is_not_found(omics, store_id) -> None:
    read_set_id = upload(omics, store_id, "FASTQ", gz(fastq_text(10, seed=12)))
    other_store = omics.create_sequence_store(name=unique("other"))["id"]
    for store, read_set, missing in (
        (store_id, "1234567890", f"Read set 1234567890 not found in sequence store {store_id}"),
        ("1234567890", read_set_id, "Sequence store 1234567890 not found"),  # the message names the store
        (other_store, read_set_id, f"Read set {read_set_id} not found in sequence store {other_store}"),
    ):
        with pytest.raises(ClientError) as excinfo:
            omics.get_read_set_metadata(sequenceStoreId=store, id=read_set)
        assert error_code(excinfo) == "ResourceNotFoundException"
        assert error_message(excinfo) == missing


# --- GetReadSet


def test_get_read_set_serves_part_one_of_each_file_and_refuses_what_does_not_exist(
    omics, no_retry_omics, store_id
) -> None:
    data = gz(fastq_text(300, seed=13))
    read_set_id = active(ingest(omics, store_id, "FASTQ", data))["id"]
    assert download(omics, store_id, read_set_id) == data  # file omitted = SOURCE1
    assert download(omics, store_id, read_set_id, "SOURCE1", 1) == data

    with pytest.raises(ClientError) as excinfo:
        download(no_retry_omics, store_id, read_set_id, "SOURCE1", 2)
    assert error_code(excinfo) == "RangeNotSatisfiableException"
    for file in ("SOURCE2", "INDEX"):
        with pytest.raises(ClientError) as excinfo:
            download(omics, store_id, read_set_id, file)
        assert error_code(excinfo) == "ResourceNotFoundException", file


def test_a_failed_read_set_cannot_be_downloaded_and_a_deleted_one_is_gone(omics, store_id) -> None:
    failed = ingest(omics, store_id, "FASTQ", gz(b"@r1\nACGT\n+\nII\n"))
    assert failed["status"] == "UPLOAD_FAILED"
    with pytest.raises(ClientError) as excinfo:
        download(omics, store_id, failed["id"])
    assert error_code(excinfo) == "ConflictException"

    good = active(ingest(omics, store_id, "FASTQ", gz(fastq_text(20, seed=14))))
    omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[good["id"]])
    with pytest.raises(ClientError) as excinfo:
        download(omics, store_id, good["id"])
    assert error_code(excinfo) == "ResourceNotFoundException"


# --- ListReadSets


@pytest.fixture(scope="module")
def listed_store(omics) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A store with read sets that differ in every filterable field; one failed, one deleted."""
    store = omics.create_sequence_store(name=unique("list"))["id"]
    specs = {
        "a": {"name": "alpha", "sampleId": "s1", "subjectId": "p1", "generatedFrom": "run-1"},
        "b": {"name": "beta", "sampleId": "s1", "subjectId": "p2", "referenceArn": REFERENCE_ARN},
        "c": {"name": "gamma", "sampleId": "s2", "subjectId": "p2", "referenceArn": OTHER_REFERENCE_ARN},
        "d": {"name": "alpha", "sampleId": "s3", "subjectId": "p3", "generatedFrom": "run-2"},
        "e": {"name": "epsilon", "sampleId": "s3", "subjectId": "p3"},
    }
    made: dict[str, Any] = {"store": store}
    for i, (key, fields) in enumerate(specs.items()):
        made[key] = upload(omics, store, "FASTQ", gz(fastq_text(30 + i, seed=100 + i)), **fields)
    made["failed"] = upload(
        omics, store, "FASTQ", gz(b"not a fastq file\n"), name="broken", sampleId="s9", subjectId="p9"
    )
    made["deleted"] = upload(
        omics, store, "FASTQ", gz(fastq_text(5, seed=99)), name="alpha", sampleId="s1", subjectId="p1"
    )
    for key in ("a", "b", "c", "d", "e", "failed", "deleted"):
        made[f"{key}-metadata"] = wait_for_status(omics, store, made[key])
    omics.batch_delete_read_set(sequenceStoreId=store, ids=[made["deleted"]])
    return made


def listed(omics, store: str, **flt: Any) -> list[str]:  # type: ignore[no-untyped-def]
    pages = all_pages(omics, "list_read_sets", "readSets", sequenceStoreId=store, filter=flt)
    return sorted(i for page in pages for i in ids(page))


def test_list_read_sets_shows_every_live_read_set_with_its_summary(omics, listed_store) -> None:
    s = listed_store
    items = {r["id"]: r for r in omics.list_read_sets(sequenceStoreId=s["store"])["readSets"]}
    assert set(items) == {s[k] for k in ("a", "b", "c", "d", "e", "failed")}  # DELETED is hidden
    for item in items.values():
        assert item["sequenceStoreId"] == s["store"]
        assert item["fileType"] == "FASTQ"
        assert item["creationType"] == "UPLOAD"
        assert "files" not in item
    a = items[s["a"]]
    assert a["sequenceInformation"]["totalReadCount"] == 30
    assert a["sequenceInformation"]["generatedFrom"] == "run-1"
    assert a["etag"] == s["a-metadata"]["etag"]
    assert a["arn"] == s["a-metadata"]["arn"]
    failed = items[s["failed"]]
    assert failed["status"] == "UPLOAD_FAILED"
    assert failed["statusMessage"] == s["failed-metadata"]["statusMessage"]


def test_list_read_sets_filters_on_each_field(omics, listed_store) -> None:
    s = listed_store
    store = s["store"]

    def expect(*keys: str) -> list[str]:
        return sorted(s[k] for k in keys)

    assert listed(omics, store, name="alpha") == expect("a", "d")
    assert listed(omics, store, sampleId="s1") == expect("a", "b")
    assert listed(omics, store, subjectId="p3") == expect("d", "e")
    assert listed(omics, store, generatedFrom="run-2") == expect("d")
    assert listed(omics, store, referenceArn=REFERENCE_ARN) == expect("b")
    assert listed(omics, store, referenceArn="") == expect("a", "d", "e", "failed")
    assert listed(omics, store, status="UPLOAD_FAILED") == expect("failed")
    assert listed(omics, store, status="ACTIVE") == expect("a", "b", "c", "d", "e")
    assert listed(omics, store, status="DELETED") == expect("deleted")
    assert listed(omics, store, creationType="UPLOAD") == expect("a", "b", "c", "d", "e", "failed")
    assert listed(omics, store, creationType="IMPORT") == []
    assert listed(omics, store, name="alpha", sampleId="s3") == expect("d")  # filters combine
    assert listed(omics, store, name="no such name") == []


def test_list_read_sets_filters_on_creation_time(omics, listed_store) -> None:
    s = listed_store
    times = sorted((s[f"{k}-metadata"]["creationTime"], k) for k in ("a", "b", "c", "d", "e", "failed"))
    first, last = times[0][0], times[-1][0]
    assert listed(omics, s["store"], createdAfter=first - timedelta(seconds=1)) == sorted(
        s[k] for _, k in times
    )
    assert listed(omics, s["store"], createdAfter=last + timedelta(seconds=1)) == []
    assert listed(omics, s["store"], createdBefore=first - timedelta(seconds=1)) == []
    # Bounds are inclusive (docs/behaviour.md, "List filters"): the newest one is both after and before its own time.
    assert s[times[-1][1]] in listed(omics, s["store"], createdAfter=last, createdBefore=last)


def test_list_read_sets_in_pages(omics, listed_store) -> None:
    s = listed_store
    first = omics.list_read_sets(sequenceStoreId=s["store"], maxResults=4)
    assert len(first["readSets"]) == 4 and first["nextToken"]
    second = omics.list_read_sets(sequenceStoreId=s["store"], maxResults=4, nextToken=first["nextToken"])
    assert len(second["readSets"]) == 2 and not second.get("nextToken")
    pages = all_pages(
        omics, "list_read_sets", "readSets", sequenceStoreId=s["store"], PaginationConfig={"PageSize": 2}
    )
    assert [len(p) for p in pages] == [2, 2, 2]
    in_pages = [i for p in pages for i in ids(p)]
    assert len(set(in_pages)) == 6
    assert in_pages == ids(first["readSets"] + second["readSets"])  # the same stable order


def test_list_read_sets_filtered_by_creation_time_in_pages(omics, listed_store) -> None:
    s = listed_store
    times = sorted((s[f"{k}-metadata"]["creationTime"], k) for k in ("a", "b", "c", "d", "e", "failed"))
    flt = {"createdAfter": times[0][0] - timedelta(seconds=1), "createdBefore": times[-1][0]}
    pages = all_pages(
        omics, "list_read_sets", "readSets", sequenceStoreId=s["store"], filter=flt,
        PaginationConfig={"PageSize": 2},
    )  # fmt: skip
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [i for p in pages for i in ids(p)] == [s[k] for _, k in times]  # oldest first
    first = omics.list_read_sets(sequenceStoreId=s["store"], filter=flt, maxResults=2)
    for other in ({"createdAfter": flt["createdAfter"]}, {"createdBefore": flt["createdBefore"]}, None):
        extra = {"filter": other} if other else {}
        with pytest.raises(ClientError) as excinfo:
            omics.list_read_sets(
                sequenceStoreId=s["store"], maxResults=2, nextToken=first["nextToken"], **extra
            )
        assert error_code(excinfo) == "ValidationException", other


def test_list_read_sets_of_an_unknown_store_is_not_found(omics) -> None:
    with pytest.raises(ClientError) as excinfo:
        omics.list_read_sets(sequenceStoreId="1234567890")
    assert error_code(excinfo) == "ResourceNotFoundException"


# --- BatchDeleteReadSet


def test_batch_delete_removes_the_read_sets_and_reports_the_ones_it_could_not(
    omics, server, store_id
) -> None:
    keep = active(ingest(omics, store_id, "FASTQ", gz(fastq_text(40, seed=20))))
    first = active(ingest(omics, store_id, "FASTQ", gz(fastq_text(40, seed=21))))
    second = ingest(omics, store_id, "FASTQ", gz(b"garbage\n"))  # UPLOAD_FAILED read sets go too
    assert second["status"] == "UPLOAD_FAILED"
    assert read_set_files(server, store_id, first["id"])

    response = omics.batch_delete_read_set(
        sequenceStoreId=store_id, ids=[first["id"], "1111111111", second["id"], first["id"]]
    )
    assert response["errors"] == [
        {"id": "1111111111", "code": "", "message": "The specified readset does not exist."}
    ]
    for read_set in (first, second):
        metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set["id"])
        assert metadata["status"] == "DELETED"
        assert "files" not in metadata
    assert read_set_files(server, store_id, first["id"]) == []
    assert omics.get_read_set_metadata(sequenceStoreId=store_id, id=keep["id"])["status"] == "ACTIVE"
    assert download(omics, store_id, keep["id"]) == gz(fastq_text(40, seed=20))

    # Deleting again: already deleted is "does not exist" too.
    again = omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[first["id"]])
    assert again["errors"] == [
        {"id": first["id"], "code": "", "message": "The specified readset does not exist."}
    ]
    clean = omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[keep["id"]])
    assert not clean.get("errors")


def test_batch_delete_takes_1_to_100_ids_of_a_known_store(server, omics, store_id) -> None:
    raw = unvalidated_client(server.url)
    for count in (0, 101):
        with pytest.raises(ClientError) as excinfo:
            raw.batch_delete_read_set(
                sequenceStoreId=store_id, ids=[f"{1000000000 + i}" for i in range(count)]
            )
        assert error_code(excinfo) == "ValidationException", count
    hundred = omics.batch_delete_read_set(
        sequenceStoreId=store_id, ids=[f"{1000000000 + i}" for i in range(100)]
    )
    assert len(hundred["errors"]) == 100
    with pytest.raises(ClientError) as excinfo:
        omics.batch_delete_read_set(sequenceStoreId="1234567890", ids=["1111111111"])
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_a_store_can_be_deleted_once_its_read_sets_are(omics, store_id) -> None:
    read_set = active(ingest(omics, store_id, "FASTQ", gz(fastq_text(10, seed=22))))
    with pytest.raises(ClientError) as excinfo:
        omics.delete_sequence_store(id=store_id)
    assert error_code(excinfo) == "ConflictException"

    omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[read_set["id"]])
    omics.delete_sequence_store(id=store_id)
    with pytest.raises(ClientError) as excinfo:
        omics.get_sequence_store(id=store_id)
    assert error_code(excinfo) == "ResourceNotFoundException"


# --- tags


def test_tags_given_at_upload_land_on_the_read_set_and_can_be_changed(omics, store_id) -> None:
    read_set_id = upload(
        omics, store_id, "FASTQ", gz(fastq_text(10, seed=23)), tags={"project": "pilot", "owner": "lab 3"}
    )
    arn = active(wait_for_status(omics, store_id, read_set_id))["arn"]
    assert omics.list_tags_for_resource(resourceArn=arn)["tags"] == {"project": "pilot", "owner": "lab 3"}

    omics.tag_resource(resourceArn=arn, tags={"owner": "lab 4", "stage": "qc"})
    omics.untag_resource(resourceArn=arn, tagKeys=["project"])
    assert omics.list_tags_for_resource(resourceArn=arn)["tags"] == {"owner": "lab 4", "stage": "qc"}
    # The store's own tags are separate.
    store_arn = omics.get_sequence_store(id=store_id)["arn"]
    assert omics.list_tags_for_resource(resourceArn=store_arn)["tags"] == {}

    omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[read_set_id])
    for call in (
        lambda: omics.list_tags_for_resource(resourceArn=arn),
        lambda: omics.tag_resource(resourceArn=arn, tags={"k": "v"}),
        lambda: omics.untag_resource(resourceArn=arn, tagKeys=["owner"]),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "ResourceNotFoundException"


def test_an_upload_with_invalid_tags_is_refused_at_create(omics, store_id) -> None:
    with pytest.raises(ClientError) as excinfo:
        start_upload(omics, store_id, tags={"aws:reserved": "x"})
    assert error_code(excinfo) == "ValidationException"

"""Bad uploads, one user mistake per test. Each ends as UPLOAD_FAILED with a status message a
person can act on (or with the modelled exception when the mistake is visible at the call), and
leaves the server healthy, every other read set as it was, and no part bytes behind."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers.alignments import write_bam
from tests.helpers.clients import error_code, error_message, unvalidated_client, without_metadata
from tests.helpers.data import bgzf_blocks, gz
from tests.helpers.fasta import SMALL_GENOME, write_reference
from tests.helpers.fastq import fastq_text
from tests.helpers.names import REFERENCE_ARN, unique
from tests.helpers.readsets import (
    download,
    eventually_no_upload_files,
    ingest,
    read_set_files,
    send_parts,
    start_upload,
    upload_files,
    wait_for_status,
)
from tests.helpers.servers import healthy


class Bystanders:
    """A store holding two good read sets that no bad upload may disturb."""

    def __init__(self, omics, server, store_id: str, originals: dict[str, bytes]) -> None:  # type: ignore[no-untyped-def]
        self.omics = omics
        self.server = server
        self.store_id = store_id
        self.originals = originals  # read set id -> uploaded bytes
        self.snapshot = self._metadata()

    def _metadata(self) -> dict[str, Any]:
        return {
            read_set_id: without_metadata(
                self.omics.get_read_set_metadata(sequenceStoreId=self.store_id, id=read_set_id)
            )
            for read_set_id in self.originals
        }

    def check_unharmed(self, upload_id: str | None = None) -> None:
        assert healthy(self.server)
        assert self._metadata() == self.snapshot
        for read_set_id, data in self.originals.items():
            assert download(self.omics, self.store_id, read_set_id) == data
        if upload_id is not None:
            assert eventually_no_upload_files(self.server, upload_id) == []


@pytest.fixture(scope="module")
def good_bam(files: Path, genome: Path) -> Path:
    return write_bam(files / "good.bam", genome, 200, seed=31)


@pytest.fixture(scope="module")
def bystanders(omics, server, good_bam: Path, genome_arn: str) -> Bystanders:  # type: ignore[no-untyped-def]
    store_id = omics.create_sequence_store(name=unique("bad-input"))["id"]
    fastq = gz(fastq_text(100, seed=30))
    bam = good_bam.read_bytes()
    originals = {}
    for file_type, data, fields in (("FASTQ", fastq, {}), ("BAM", bam, {"referenceArn": genome_arn})):
        metadata = ingest(omics, store_id, file_type, data, **fields)
        assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
        originals[metadata["id"]] = data
    return Bystanders(omics, server, store_id, originals)


def fails_cleanly(  # type: ignore[no-untyped-def]
    omics, bystanders: Bystanders, file_type: str, source1: bytes, source2: bytes | None = None, **fields: Any
) -> str:
    """Upload, expect UPLOAD_FAILED, check nothing else suffered; return the status message."""
    store_id = bystanders.store_id
    upload_id = start_upload(omics, store_id, file_type, **fields)
    parts = send_parts(omics, store_id, upload_id, source1, "SOURCE1", cuts=[len(source1) // 2])
    if source2 is not None:
        parts += send_parts(omics, store_id, upload_id, source2, "SOURCE2")
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts
    )["readSetId"]
    metadata = wait_for_status(omics, store_id, read_set_id)

    assert metadata["status"] == "UPLOAD_FAILED"
    message = metadata["statusMessage"]
    assert 0 < len(message) <= 255 and "\n" not in message
    assert "Traceback" not in message and "Internal error" not in message
    assert "files" not in metadata
    assert read_set_files(bystanders.server, store_id, read_set_id) == []
    listed = omics.list_read_sets(sequenceStoreId=store_id, filter={"status": "UPLOAD_FAILED"})["readSets"]
    assert read_set_id in [r["id"] for r in listed]
    assert upload_id not in [
        u["uploadId"] for u in omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"]
    ]
    bystanders.check_unharmed(upload_id)
    return str(message)


def records(*entries: tuple[str, str, str, str]) -> bytes:
    return "".join(f"{h}\n{s}\n{p}\n{q}\n" for h, s, p, q in entries).encode()


# --- mistakes only ingestion can see


def test_a_truncated_gzip_fastq(omics, bystanders) -> None:
    data = gz(fastq_text(2000, seed=40))
    message = fails_cleanly(omics, bystanders, "FASTQ", data[: len(data) * 2 // 3])
    assert "source1" in message
    assert "gzip" in message.lower() and "truncated" in message.lower()


def test_a_fastq_record_whose_quality_is_shorter_than_its_sequence(omics, bystanders) -> None:
    good = fastq_text(5, seed=41).decode().splitlines()
    good[4 * 2 + 3] = good[4 * 2 + 3][:-1]  # record 3 loses its last quality character
    message = fails_cleanly(omics, bystanders, "FASTQ", gz(("\n".join(good) + "\n").encode()))
    assert "source1" in message and "record 3" in message
    assert "length" in message.lower()


def test_a_fastq_record_without_its_plus_line(omics, bystanders) -> None:
    data = records(
        ("@r1", "ACGTACGT", "+", "IIIIIIII"),
        ("@r2", "ACGTACGA", "IIIIIIII", "@r3"),  # the '+' line of r2 is missing
        ("TTTTACGT", "+", "IIIIIIII", "@r4"),
    )
    message = fails_cleanly(omics, bystanders, "FASTQ", gz(data))
    assert "record 2" in message and "'+'" in message


def test_paired_fastq_sources_with_different_read_counts(omics, bystanders) -> None:
    r1 = fastq_text(100, seed=42, mate=1)
    r2 = fastq_text(99, seed=42, mate=2)
    message = fails_cleanly(omics, bystanders, "FASTQ", gz(r1), gz(r2))
    assert "source1" in message and "source2" in message
    assert "100" in message and "99" in message


def test_a_bam_with_a_corrupted_bgzf_block(
    omics, bystanders, files: Path, genome: Path, genome_arn: str
) -> None:
    data = bytearray(write_bam(files / "to-corrupt.bam", genome, 2500, seed=43).read_bytes())
    blocks = bgzf_blocks(bytes(data))
    assert len(blocks) >= 4
    offset, size = blocks[2]
    for i in range(offset + size // 2, offset + size // 2 + 64):  # damage the deflate data
        data[i] ^= 0xA5
    message = fails_cleanly(omics, bystanders, "BAM", bytes(data), referenceArn=genome_arn)
    assert "source1" in message and "BAM" in message


def test_plain_text_declared_as_bam(omics, bystanders, genome_arn: str) -> None:
    text = b"sample\tlane\tbarcode\nS1\t3\tACGTACGT\n" * 20
    message = fails_cleanly(omics, bystanders, "BAM", text, referenceArn=genome_arn)
    assert "BAM" in message and "text" in message.lower()


def test_a_cram_whose_reference_the_server_does_not_hold(
    omics, bystanders, files: Path, genome: Path
) -> None:
    cram = write_bam(files / "reads.cram", genome, 100, seed=44, file_format="cram")
    assert cram.read_bytes().startswith(b"CRAM")
    message = fails_cleanly(omics, bystanders, "CRAM", cram.read_bytes(), referenceArn=REFERENCE_ARN)
    assert "CRAM" in message and "reference" in message.lower() and REFERENCE_ARN in message


def test_a_bam_whose_reference_the_server_does_not_hold(omics, bystanders, good_bam: Path) -> None:
    message = fails_cleanly(omics, bystanders, "BAM", good_bam.read_bytes(), referenceArn=REFERENCE_ARN)
    assert "BAM" in message and REFERENCE_ARN in message


def test_a_bam_aligned_to_another_genome_than_its_reference(
    omics, bystanders, files: Path, genome_arn: str
) -> None:
    other = write_reference(files / "other-genome.fa", SMALL_GENOME, seed=3)  # chr1 of another length
    bam = write_bam(files / "other-genome.bam", other, 100, seed=49)
    message = fails_cleanly(omics, bystanders, "BAM", bam.read_bytes(), referenceArn=genome_arn)
    assert "chr1" in message and f"{SMALL_GENOME['chr1']:,}" in message


def test_a_bam_declared_as_fastq(omics, bystanders, good_bam: Path) -> None:
    message = fails_cleanly(omics, bystanders, "FASTQ", good_bam.read_bytes())
    assert "BAM" in message and "FASTQ" in message


def test_an_aligned_bam_declared_as_unaligned(omics, bystanders, good_bam: Path) -> None:
    message = fails_cleanly(omics, bystanders, "UBAM", good_bam.read_bytes())
    assert "UBAM" in message and re.search(r"\b(aligned|mapped)\b", message)


# --- mistakes the calls themselves refuse


def test_an_empty_part_and_a_complete_without_parts_are_refused(omics, server, bystanders) -> None:
    store_id = bystanders.store_id
    raw = unvalidated_client(server.url)
    upload_id = start_upload(omics, store_id)
    with pytest.raises(ClientError) as excinfo:
        omics.upload_read_set_part(
            sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1", partNumber=1, payload=b""
        )
    assert error_code(excinfo) == "ValidationException"
    assert "empty" in error_message(excinfo)
    assert upload_files(server, upload_id) == []
    assert (
        omics.list_read_set_upload_parts(sequenceStoreId=store_id, uploadId=upload_id, partSource="SOURCE1")[
            "parts"
        ]
        == []
    )

    read_sets_before = omics.list_read_sets(sequenceStoreId=store_id)["readSets"]
    with pytest.raises(ClientError) as excinfo:
        raw.complete_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id, parts=[])
    assert error_code(excinfo) == "ValidationException"
    assert "part" in error_message(excinfo)
    # No read set was created, and the upload can still be finished properly.
    assert omics.list_read_sets(sequenceStoreId=store_id)["readSets"] == read_sets_before
    data = gz(fastq_text(10, seed=45))
    parts = send_parts(omics, store_id, upload_id, data)
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts
    )["readSetId"]
    assert wait_for_status(omics, store_id, read_set_id)["status"] == "ACTIVE"
    omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[read_set_id])
    bystanders.check_unharmed(upload_id)


def test_a_complete_with_a_wrong_checksum_names_the_part(omics, bystanders) -> None:
    store_id = bystanders.store_id
    data = gz(fastq_text(300, seed=46))
    upload_id = start_upload(omics, store_id)
    parts = send_parts(omics, store_id, upload_id, data, cuts=[1000, 2000])
    tampered = [dict(p) for p in parts]
    tampered[1]["checksum"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    with pytest.raises(ClientError) as excinfo:
        omics.complete_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id, parts=tampered)
    assert error_code(excinfo) == "ValidationException"
    message = error_message(excinfo)
    assert "SOURCE1" in message and "part 2" in message and "checksum" in message
    bystanders.check_unharmed()

    # The upload is still in progress; completing it with the right checksums works.
    read_set_id = omics.complete_multipart_read_set_upload(
        sequenceStoreId=store_id, uploadId=upload_id, parts=parts
    )["readSetId"]
    metadata = wait_for_status(omics, store_id, read_set_id)
    assert metadata["status"] == "ACTIVE"
    assert gzip.decompress(download(omics, store_id, read_set_id)) == gzip.decompress(data)
    omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[read_set_id])
    bystanders.check_unharmed(upload_id)


def test_a_complete_listing_a_part_that_was_never_uploaded(omics, bystanders) -> None:
    store_id = bystanders.store_id
    data = gz(fastq_text(200, seed=47))
    upload_id = start_upload(omics, store_id)
    parts = send_parts(omics, store_id, upload_id, data, cuts=[800])
    missing = {"partNumber": 3, "partSource": "SOURCE1", "checksum": parts[0]["checksum"]}
    with pytest.raises(ClientError) as excinfo:
        omics.complete_multipart_read_set_upload(
            sequenceStoreId=store_id, uploadId=upload_id, parts=[*parts, missing]
        )
    assert error_code(excinfo) == "ValidationException"
    assert "part 3" in error_message(excinfo)
    omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id)
    bystanders.check_unharmed(upload_id)


def test_a_source2_part_on_a_bam_upload(omics, server, bystanders, good_bam: Path, genome_arn: str) -> None:
    store_id = bystanders.store_id
    upload_id = start_upload(omics, store_id, "BAM", referenceArn=genome_arn)
    send_parts(omics, store_id, upload_id, good_bam.read_bytes())
    with pytest.raises(ClientError) as excinfo:
        omics.upload_read_set_part(
            sequenceStoreId=store_id,
            uploadId=upload_id,
            partSource="SOURCE2",
            partNumber=1,
            payload=good_bam.read_bytes(),
        )
    assert error_code(excinfo) == "ValidationException"
    assert "SOURCE2" in error_message(excinfo)
    assert [key.split("/")[-2] for key in upload_files(server, upload_id)] == ["SOURCE1"]
    omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id)
    bystanders.check_unharmed(upload_id)


@pytest.mark.parametrize("file_type", ["BAM", "CRAM"])
def test_an_aligned_upload_without_a_reference_is_refused_at_create(
    omics, bystanders, file_type: str
) -> None:
    store_id = bystanders.store_id
    before = omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"]
    with pytest.raises(ClientError) as excinfo:
        omics.create_multipart_read_set_upload(
            sequenceStoreId=store_id,
            sourceFileType=file_type,
            subjectId="s",
            sampleId="x",
            name="no-reference",
        )
    assert error_code(excinfo) == "ValidationException"
    assert "referenceArn" in error_message(excinfo)
    assert omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"] == before
    bystanders.check_unharmed()


def test_a_complete_with_only_source2_parts(omics, bystanders) -> None:
    store_id = bystanders.store_id
    upload_id = start_upload(omics, store_id)
    parts = send_parts(omics, store_id, upload_id, gz(fastq_text(20, seed=48, mate=2)), "SOURCE2")
    with pytest.raises(ClientError) as excinfo:
        omics.complete_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id, parts=parts)
    assert error_code(excinfo) == "ValidationException"
    assert "SOURCE1" in error_message(excinfo)
    omics.abort_multipart_read_set_upload(sequenceStoreId=store_id, uploadId=upload_id)
    bystanders.check_unharmed(upload_id)


def test_a_failed_upload_is_kept_in_the_stores_fallback_location(omics, server) -> None:  # type: ignore[no-untyped-def]
    """Spec §9: the files of a failed direct upload go to `<fallbackLocation><readSetId>/`."""
    bucket = server.data_dir / "buckets" / "fallback-bucket"
    bucket.mkdir(parents=True, exist_ok=True)
    store_id = omics.create_sequence_store(name="with-fallback", fallbackLocation="s3://fallback-bucket/failed/")["id"]
    broken = gzip.compress(b"@r1\nACGT\n+\nIII\n")  # quality shorter than the sequence
    metadata = ingest(omics, store_id, "FASTQ", broken, name="broken", subjectId="s", sampleId="s")
    assert metadata["status"] == "UPLOAD_FAILED"
    kept = bucket / "failed" / metadata["id"] / "broken_source1.fastq.gz"
    assert kept.read_bytes() == broken
    assert "fallback" not in metadata["statusMessage"]


def test_a_fallback_location_that_cannot_be_written_is_said_in_the_status(omics) -> None:  # type: ignore[no-untyped-def]
    store_id = omics.create_sequence_store(name="bad-fallback", fallbackLocation="s3://no-such-bucket/x/")["id"]
    metadata = ingest(omics, store_id, "FASTQ", b"not a fastq at all\n", name="junk", subjectId="s", sampleId="s")
    assert metadata["status"] == "UPLOAD_FAILED"
    assert "could not be written to the fallback location" in metadata["statusMessage"]
    assert "no-such-bucket" in metadata["statusMessage"]

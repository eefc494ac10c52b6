"""Read sets linked to references: CRAM decoded with the reference named by `referenceArn`, BAM
@SQ lines checked against it, and the ways a `referenceArn` can be wrong (docs/behaviour.md, "Read set references").

Expected counts and ETags come from htslib through pysam on the same files and FASTAs."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pysam
import pytest
from botocore.exceptions import ClientError

from tests.helpers.alignments import alignment_counts, sam_text, write_alignments
from tests.helpers.clients import error_code, error_message
from tests.helpers.data import md5
from tests.helpers.names import reference_arn
from tests.helpers.paths import TESTDATA
from tests.helpers.readsets import download, ingest, start_upload

CE_FASTA = TESTDATA / "ce.fa"


def test_a_cram_written_against_the_reference_is_decoded_with_it(
    omics, store_id: str, reference: dict[str, Any], genome: Path, tmp_path: Path
) -> None:
    sequences = dict(reference["sequences"])  # type: ignore[call-overload]
    cram = write_alignments(tmp_path / "sample.cram", sequences, seed=201, reads=300, cram_reference=genome)
    assert cram.read_bytes()[:4] == b"CRAM"
    reads, bases = alignment_counts(cram, genome)
    assert reads == 304  # 300 primary + 4 unmapped; the secondary and supplementary records do not count

    metadata = ingest(omics, store_id, "CRAM", cram.read_bytes(), referenceArn=str(reference["arn"]))
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    assert metadata["fileType"] == "CRAM"
    assert metadata["referenceArn"] == reference["arn"]
    assert metadata["sequenceInformation"]["totalReadCount"] == reads
    assert metadata["sequenceInformation"]["totalBaseCount"] == bases
    assert metadata["sequenceInformation"]["alignment"] == "ALIGNED"
    assert metadata["etag"]["algorithm"] == "CRAM_MD5up"
    assert metadata["etag"]["source1"] == md5(sam_text(cram, genome))
    assert "index" in metadata["files"]

    assert download(omics, store_id, metadata["id"], "SOURCE1") == cram.read_bytes()
    pysam.index(str(cram))  # the CRAI htslib builds for the same file
    served = download(omics, store_id, metadata["id"], "INDEX")
    assert gzip.decompress(served) == gzip.decompress(Path(f"{cram}.crai").read_bytes())


@pytest.mark.parametrize("file_name", ["ce#5b_java.cram", "range.cram", "range.bam"])
def test_third_party_alignments_of_c_elegans_ingest_against_the_imported_ce_fasta(
    omics, store_id: str, ce_arn: str, file_name: str
) -> None:
    path = TESTDATA / file_name
    file_type = "CRAM" if file_name.endswith(".cram") else "BAM"
    reads, bases = alignment_counts(path, CE_FASTA)
    metadata = ingest(omics, store_id, file_type, path.read_bytes(), referenceArn=ce_arn)
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    assert metadata["sequenceInformation"]["totalReadCount"] == reads
    assert metadata["sequenceInformation"]["totalBaseCount"] == bases
    assert metadata["etag"]["algorithm"] == f"{file_type}_MD5up"
    assert metadata["etag"]["source1"] == md5(sam_text(path, CE_FASTA))
    assert "index" in metadata["files"]


def test_a_cram_of_another_genome_fails_against_the_wrong_reference(
    omics, store_id: str, reference: dict[str, Any]
) -> None:
    metadata = ingest(omics, store_id, "CRAM", (TESTDATA / "ce#5b_java.cram").read_bytes(), referenceArn=str(reference["arn"]))
    assert metadata["status"] == "UPLOAD_FAILED"
    assert "CHROMOSOME_I" in metadata["statusMessage"]


@pytest.mark.parametrize(
    ("header_lengths", "contig_sequences", "named"),
    [
        (None, {"chr9": 5000}, "chr9"),  # a contig the reference does not have
        ({"chr1": 5999}, None, "chr1"),  # the reference's chr1 is 6,000 bases
    ],
    ids=["unknown-contig", "wrong-length"],
)
def test_a_bam_aligned_to_other_contigs_than_the_reference_fails_naming_the_contig(
    omics,
    store_id: str,
    reference: dict[str, Any],
    tmp_path: Path,
    header_lengths: dict[str, int] | None,
    contig_sequences: dict[str, int] | None,
    named: str,
) -> None:
    sequences = dict(reference["sequences"])  # type: ignore[call-overload]
    if contig_sequences is not None:
        sequences = {name: "ACGT" * (length // 4) for name, length in contig_sequences.items()}
    bam = write_alignments(tmp_path / "other.bam", sequences, seed=211, reads=40, header_lengths=header_lengths)
    metadata = ingest(omics, store_id, "BAM", bam.read_bytes(), referenceArn=str(reference["arn"]))
    assert metadata["status"] == "UPLOAD_FAILED"
    assert named in metadata["statusMessage"]
    assert "reference" in metadata["statusMessage"]


@pytest.mark.parametrize("file_type", ["BAM", "CRAM"])
def test_a_read_set_naming_a_reference_that_does_not_exist_fails_with_a_clear_message(
    omics, store_id: str, reference: dict[str, Any], reference_store_id: str, genome: Path, tmp_path: Path, file_type: str
) -> None:
    sequences = dict(reference["sequences"])  # type: ignore[call-overload]
    path = write_alignments(
        tmp_path / f"sample.{file_type.lower()}",
        sequences,
        seed=221,
        reads=40,
        cram_reference=genome if file_type == "CRAM" else None,
    )
    # Well-formed ARNs: an unknown reference id in the right store, and the right reference id
    # in a reference store that does not exist.
    for arn in (
        reference_arn(reference_store_id, "9999999999"),
        reference_arn("1111111111", str(reference["id"])),
    ):
        metadata = ingest(omics, store_id, file_type, path.read_bytes(), referenceArn=arn)
        assert metadata["status"] == "UPLOAD_FAILED", arn
        assert arn in metadata["statusMessage"]
        assert "reference" in metadata["statusMessage"].lower()
    # The same file is fine with the real reference.
    metadata = ingest(omics, store_id, file_type, path.read_bytes(), referenceArn=str(reference["arn"]))
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:omics:us-east-1:123456789012:sequenceStore/1",
        "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890",
        "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/",
        "not-an-arn",
    ],
)
def test_a_malformed_reference_arn_is_refused_when_the_upload_starts(omics, store_id: str, arn: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        start_upload(omics, store_id, "BAM", referenceArn=arn)
    assert error_code(excinfo) == "ValidationException"
    assert "referenceArn" in error_message(excinfo)
    assert omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"] == []


@pytest.mark.parametrize("file_type", ["BAM", "CRAM"])
def test_an_aligned_upload_without_a_reference_arn_is_refused(omics, store_id: str, file_type: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        start_upload(omics, store_id, file_type)
    assert error_code(excinfo) == "ValidationException"
    assert "referenceArn" in error_message(excinfo)

"""aws-healthomics-tools, unmodified, against seqstore: TransferManager.upload_read_set and
download_read_set round-trip files byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pysam
import pytest
from botocore.exceptions import ClientError
from omics.common.omics_file_types import ReadSetFileName
from omics.transfer.manager import TransferManager

from tests.helpers.alignments import BAI_MAGIC, alignment_counts, sam_text, write_bam
from tests.helpers.clients import error_code
from tests.helpers.data import gz, md5
from tests.helpers.fasta import local_copy
from tests.helpers.fastq import fastq_counts, paired_fastq
from tests.helpers.names import unique
from tests.helpers.readsets import wait_for_status


def test_paired_gzip_fastq_round_trips_through_the_transfer_manager(omics, store_id, tmp_path: Path) -> None:
    r1, r2 = paired_fastq(1000, seed=60, read_length=100)
    (tmp_path / "in").mkdir()
    path1, path2 = tmp_path / "in" / "lib_R1.fastq.gz", tmp_path / "in" / "lib_R2.fastq.gz"
    path1.write_bytes(gz(r1))
    path2.write_bytes(gz(r2))

    manager = TransferManager(omics)
    read_set_id = manager.upload_read_set(
        [str(path1), str(path2)],
        store_id,
        "FASTQ",
        "tumour lib.fastq.gz",
        "patient-1",
        "tumour-1",
        generated_from="NovaSeq",
        description="paired library",
        tags={"project": "round-trip"},
    )
    metadata = wait_for_status(omics, store_id, read_set_id)
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    assert metadata["sequenceInformation"]["totalReadCount"] == fastq_counts(r1, r2)[0] == 2000
    assert metadata["etag"]["source1"] == md5(r1)
    assert metadata["sequenceInformation"]["generatedFrom"] == "NovaSeq"
    assert omics.list_tags_for_resource(resourceArn=metadata["arn"])["tags"] == {"project": "round-trip"}

    out = tmp_path / "out"
    manager.download_read_set(store_id, read_set_id, directory=str(out))
    downloaded = sorted(p.name for p in out.iterdir())
    assert downloaded == ["tumour_lib_1.fastq.gz", "tumour_lib_2.fastq.gz"]
    assert (out / "tumour_lib_1.fastq.gz").read_bytes() == path1.read_bytes()
    assert (out / "tumour_lib_2.fastq.gz").read_bytes() == path2.read_bytes()


def test_bam_and_its_index_round_trip_through_the_transfer_manager(
    omics, store_id, reference: dict[str, Any], tmp_path: Path
) -> None:
    genome = local_copy(Path(str(reference["fasta"])), tmp_path / "genome")
    bam = write_bam(tmp_path / "sample.bam", genome, 1500, seed=62)

    manager = TransferManager(omics)
    with open(bam, "rb") as stream:  # a file object rather than a path
        read_set_id = manager.upload_read_set(
            stream,
            store_id,
            "BAM",
            "sample.bam",
            "patient-2",
            "normal-1",
            reference_arn=str(reference["arn"]),
        )
    metadata = wait_for_status(omics, store_id, read_set_id)
    assert metadata["status"] == "ACTIVE", metadata.get("statusMessage")
    reads, bases = alignment_counts(bam)
    assert metadata["sequenceInformation"]["totalReadCount"] == reads
    assert metadata["sequenceInformation"]["totalBaseCount"] == bases
    assert metadata["etag"]["source1"] == md5(sam_text(bam))

    out = tmp_path / "out"
    manager.download_read_set(store_id, read_set_id, directory=str(out))
    # The tool appends .gz to any download that gunzips, and BGZF (a BAM) does.
    assert sorted(p.name for p in out.iterdir()) == ["sample.bam.bai", "sample.bam.gz"]
    assert (out / "sample.bam.gz").read_bytes() == bam.read_bytes()
    assert (out / "sample.bam.bai").read_bytes().startswith(BAI_MAGIC)
    # The downloaded index works with htslib: the BAM can be queried by region.
    with pysam.AlignmentFile(
        str(out / "sample.bam.gz"), index_filename=str(out / "sample.bam.bai")
    ) as alignments:
        in_region = sum(1 for _ in alignments.fetch("chr2", 0, 3_000))
    with pysam.AlignmentFile(str(bam)) as alignments:
        expected = sum(1 for r in alignments.fetch(until_eof=True) if r.reference_name == "chr2")
    assert in_region == expected > 0

    # One file at a time, into a file object.
    single = tmp_path / "single.bam"
    with open(single, "wb") as handle:
        manager.download_read_set_file(store_id, read_set_id, ReadSetFileName.SOURCE1, handle)
    assert single.read_bytes() == bam.read_bytes()


def test_an_empty_file_fails_and_leaves_no_upload_behind(omics, store_id, tmp_path: Path) -> None:
    empty = tmp_path / "empty.fastq.gz"
    empty.write_bytes(b"")
    with pytest.raises(ClientError) as excinfo:
        TransferManager(omics).upload_read_set(str(empty), store_id, "FASTQ", unique("empty"), "p", "s")
    assert error_code(excinfo) == "ValidationException"
    assert omics.list_multipart_read_set_uploads(sequenceStoreId=store_id)["uploads"] == []
    assert omics.list_read_sets(sequenceStoreId=store_id)["readSets"] == []

"""BAM, uBAM and CRAM read sets: counts and ETags agree with samtools; bad input fails readably."""

from __future__ import annotations

import shutil
from pathlib import Path

import pysam
import pytest

from seqstore.genomics import ingest_alignment, native
from tests.helpers.alignments import (
    alignment_counts,
    sam_to_bam,
    sam_to_cram,
    samtools_view_digest,
    write_sam,
)
from tests.helpers.fasta import write_reference
from tests.helpers.genomics import readable_ingest_error, write
from tests.helpers.native import require_helper
from tests.helpers.paths import TESTDATA

CE_FA = TESTDATA / "ce.fa"


@pytest.fixture(autouse=True, params=["native", "samtools"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on both paths: the C helper (one decode of a BAM or CRAM) and the
    samtools children."""
    if request.param == "native":
        require_helper(native.available(), "seqstore/genomics/_htscan")
        monkeypatch.setenv(native.SWITCH, "1")
    else:
        monkeypatch.setenv(native.SWITCH, "0")
    return str(request.param)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A reference, SAM with every kind of record, and it as sorted BAM and CRAM; an unmapped BAM."""
    d = tmp_path_factory.mktemp("alignments")
    reference = write_reference(d / "ref.fa", {"chr1": 5000, "chr2": 3000, "chrM": 400}, seed=1, description="random contig")
    sam = write_sam(d / "reads.sam", reference, seed=2, reads=600)
    unmapped_sam = write_sam(d / "unmapped.sam", reference, seed=3, reads=200, unmapped_only=True)
    return {
        "reference": reference,
        "sam": sam,
        "bam": sam_to_bam(sam, d / "reads.bam"),
        "unsorted_bam": sam_to_bam(sam, d / "unsorted.bam", sort=False),
        "cram": sam_to_cram(sam, d / "reads.cram", reference),
        "ubam": sam_to_bam(unmapped_sam, d / "unmapped.bam", sort=False),
    }


def alignment_error(
    match: str, path: Path, file_type: str, work_dir: Path, reference: Path | None = None
) -> str:
    """ingest_alignment must fail readably, with a message matching `match`."""
    return readable_ingest_error(match, ingest_alignment, path, file_type, "MD5up", work_dir, reference)


@pytest.mark.parametrize(
    ("family", "algorithm"), [("MD5up", "md5"), ("SHA256up", "sha256"), ("SHA512up", "sha512")]
)
def test_bam_counts_etag_and_index(
    data: dict[str, Path], tmp_path: Path, family: str, algorithm: str
) -> None:
    result = ingest_alignment(data["bam"], "BAM", family, tmp_path, data["reference"])
    assert (result.read_count, result.base_count) == alignment_counts(data["bam"])
    assert result.etags == {"source1": samtools_view_digest(data["bam"], algorithm=algorithm)}
    assert result.etag_algorithm == f"BAM_{family}"
    assert result.alignment == "ALIGNED"
    assert result.stored_paths == {"source1": data["bam"]}
    assert result.index_path is not None and result.index_path.parent == tmp_path
    with pysam.AlignmentFile(str(data["bam"]), index_filename=str(result.index_path)) as bam:
        assert bam.count("chr1") == sum(
            1 for line in pysam.view(str(data["bam"])).splitlines() if "\tchr1\t" in line
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source1.bam.bai"]  # no logs left behind


def test_bai_is_the_one_samtools_index_writes(data: dict[str, Path], tmp_path: Path) -> None:
    bam = sam_to_bam(TESTDATA / "ce#1000.sam", tmp_path / "ce.bam")
    for source in (data["bam"], bam, TESTDATA / "range.bam"):
        work = tmp_path / f"work-{source.stem}"
        work.mkdir()
        result = ingest_alignment(source, "BAM", "MD5up", work)
        assert result.index_path is not None
        pysam.index(str(source), str(tmp_path / "samtools.bai"))
        assert result.index_path.read_bytes() == (tmp_path / "samtools.bai").read_bytes()


def test_bam_without_reference_is_accepted(data: dict[str, Path], tmp_path: Path) -> None:
    result = ingest_alignment(data["bam"], "BAM", "MD5up", tmp_path)
    assert result.etags["source1"] == samtools_view_digest(data["bam"])


def test_cram_decoded_with_its_reference(data: dict[str, Path], tmp_path: Path) -> None:
    result = ingest_alignment(data["cram"], "CRAM", "SHA256up", tmp_path, data["reference"])
    assert (result.read_count, result.base_count) == alignment_counts(data["cram"], data["reference"])
    assert result.etags == {"source1": samtools_view_digest(data["cram"], data["reference"], "sha256")}
    assert result.etag_algorithm == "CRAM_SHA256up"
    assert result.alignment == "ALIGNED"
    assert result.index_path == tmp_path / "source1.cram.crai" and result.index_path.stat().st_size > 0


def test_unaligned_bam(data: dict[str, Path], tmp_path: Path) -> None:
    result = ingest_alignment(data["ubam"], "UBAM", "MD5up", tmp_path)
    assert (
        (result.read_count, result.base_count) == alignment_counts(data["ubam"]) == (200, result.base_count)
    )
    assert result.etags["source1"] == samtools_view_digest(data["ubam"])
    assert result.etag_algorithm == "BAM_MD5up"
    assert result.alignment == "UNALIGNED"
    assert result.index_path is None


# --- htslib's own files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ce#5b.sam", "ce#supp.sam", "ce#unmap2.sam", "ce#1000.sam"])
def test_htslib_sam_as_bam_and_cram(tmp_path: Path, name: str) -> None:
    bam = sam_to_bam(TESTDATA / name, tmp_path / "in.bam")
    cram = sam_to_cram(TESTDATA / name, tmp_path / "in.cram", CE_FA)
    work = tmp_path / "work"
    work.mkdir()
    result = ingest_alignment(bam, "BAM", "MD5up", work, CE_FA)
    assert (result.read_count, result.base_count) == alignment_counts(bam)
    assert result.etags["source1"] == samtools_view_digest(bam)
    result = ingest_alignment(cram, "CRAM", "MD5up", work, CE_FA)
    assert (result.read_count, result.base_count) == alignment_counts(cram, CE_FA)
    assert result.etags["source1"] == samtools_view_digest(cram, CE_FA)


@pytest.mark.parametrize("name", ["ce#unmap.sam", "ce#unmap1.sam"])
def test_htslib_unmapped_sam_as_ubam(tmp_path: Path, name: str) -> None:
    ubam = sam_to_bam(TESTDATA / name, tmp_path / "in.bam", sort=False)
    result = ingest_alignment(ubam, "UBAM", "MD5up", tmp_path)
    assert (result.read_count, result.base_count) == alignment_counts(ubam)
    assert result.etags["source1"] == samtools_view_digest(ubam)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("range.bam", CE_FA),
        ("colons.bam", None),
        ("no_hdr_sq_1.bam", None),
        ("bgzf_boundaries/bgzf_boundaries1.bam", None),
        ("bgzf_boundaries/bgzf_boundaries2.bam", None),
        ("bgzf_boundaries/bgzf_boundaries3.bam", None),
    ],
)
def test_htslib_bam_files(tmp_path: Path, name: str, reference: Path | None) -> None:
    source = TESTDATA / name
    result = ingest_alignment(source, "BAM", "MD5up", tmp_path, reference)
    assert (result.read_count, result.base_count) == alignment_counts(source)
    assert result.etags["source1"] == samtools_view_digest(source)
    assert result.index_path is not None and result.index_path.exists()


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("range.cram", "ce.fa"),
        ("ce#5b_java.cram", "ce.fa"),
        ("xx#large_aux_java.cram", "xx.fa"),
        ("auxf#values_java.cram", "auxf.fa"),
    ],
)
def test_htslib_cram_files(tmp_path: Path, name: str, reference: str) -> None:
    source, fasta = TESTDATA / name, TESTDATA / reference
    result = ingest_alignment(source, "CRAM", "MD5up", tmp_path, fasta)
    assert (result.read_count, result.base_count) == alignment_counts(source, fasta)
    assert result.etags["source1"] == samtools_view_digest(source, fasta)
    assert result.index_path is not None and result.index_path.exists()


# --- bad input -------------------------------------------------------------------------------


def test_corrupted_bgzf_block(tmp_path: Path) -> None:
    bam = sam_to_bam(TESTDATA / "ce#1000.sam", tmp_path / "ce.bam")
    corrupt = bytearray(bam.read_bytes())
    corrupt[len(corrupt) // 2 : len(corrupt) // 2 + 16] = b"\xff" * 16
    source = write(tmp_path / "corrupt.bam", bytes(corrupt))
    work = tmp_path / "work"
    work.mkdir()
    alignment_error(r"^source1 \(BAM\): the file is (corrupt|truncated)", source, "BAM", work)
    assert list(work.iterdir()) == []  # no partial index or logs


def test_corrupt_aux_data(tmp_path: Path) -> None:
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 1000}]}
    plain = tmp_path / "plain.bam"
    with pysam.AlignmentFile(str(plain), "wbu", header=header) as out:  # uncompressed BGZF
        for number in range(5):
            read = pysam.AlignedSegment(out.header)
            read.query_name, read.query_sequence, read.cigarstring = f"r{number}", "ACGT", "4M"
            read.reference_id, read.reference_start, read.mapping_quality = 0, 10 + number, 20
            read.query_qualities = pysam.qualitystring_to_array("IIII")
            read.set_tag("XZ", 7, value_type="C")
            out.write(read)
    with pysam.BGZFile(str(plain), "rb") as handle:
        raw = bytearray(handle.read())
    raw[raw.find(b"XZC", len(raw) // 2) + 2] = ord("Q")  # an aux type that does not exist
    source = tmp_path / "bad-aux.bam"
    with pysam.BGZFile(str(source), "wb") as handle:
        handle.write(bytes(raw))
    work = tmp_path / "work"
    work.mkdir()
    alignment_error(
        r"^source1 \(BAM\): htslib could not read it \(Corrupted aux data for read r1", source, "BAM", work
    )
    assert list(work.iterdir()) == []


def test_truncated_bam(tmp_path: Path) -> None:
    whole = sam_to_bam(TESTDATA / "ce#1000.sam", tmp_path / "ce.bam").read_bytes()
    alignment_error(
        r"^source1: BAM is truncated", write(tmp_path / "cut.bam", whole[: len(whole) // 2]), "BAM", tmp_path
    )
    # Cut exactly before the end-of-file block: htslib alone would only warn.
    alignment_error(r"^source1: BAM is truncated", write(tmp_path / "noeof.bam", whole[:-28]), "BAM", tmp_path)


def test_truncated_and_corrupted_cram(data: dict[str, Path], tmp_path: Path) -> None:
    whole = data["cram"].read_bytes()
    for cut in (whole[: len(whole) // 2], whole[:-38]):
        alignment_error(
            r"^source1: CRAM is truncated \(the CRAM end-of-file container is missing\); upload it again$",
            write(tmp_path / "cut.cram", cut),
            "CRAM",
            tmp_path,
            data["reference"],
        )
    corrupt = bytearray(whole)
    corrupt[len(whole) // 2 : len(whole) // 2 + 8] = b"\xff" * 8
    alignment_error(
        r"^source1 \(CRAM\): the file is (truncated or )?corrupt",
        write(tmp_path / "corrupt.cram", bytes(corrupt)),
        "CRAM",
        tmp_path,
        data["reference"],
    )
    assert not (tmp_path / "source1.cram.crai").exists()


def test_declared_type_does_not_match_content(data: dict[str, Path], tmp_path: Path) -> None:
    text = write(tmp_path / "notes.bam", b"just some notes\n")
    alignment_error(
        r"^source1: declared BAM but this looks like text starting with 'just some notes'$",
        text,
        "BAM",
        tmp_path,
    )
    alignment_error(r"^source1: declared BAM but this looks like a CRAM file$", data["cram"], "BAM", tmp_path)
    alignment_error(
        r"^source1: declared CRAM but this looks like a BAM file$",
        data["bam"],
        "CRAM",
        tmp_path,
        data["reference"],
    )
    fastq = write(tmp_path / "reads.bam", b"@r1\nACGT\n+\nIIII\n")
    alignment_error(r"^source1: declared UBAM but this looks like FASTQ text$", fastq, "UBAM", tmp_path)
    alignment_error(r"^source1: declared BAM but this looks like SAM text$", data["sam"], "BAM", tmp_path)
    alignment_error(
        r"^source1: declared BAM but this looks like an empty file$",
        write(tmp_path / "e.bam", b""),
        "BAM",
        tmp_path,
    )


def test_cram_without_reference(data: dict[str, Path], tmp_path: Path) -> None:
    alignment_error(
        r"^source1: a CRAM needs its reference to be decoded; give the referenceArn",
        data["cram"],
        "CRAM",
        tmp_path,
    )


def test_cram_with_the_wrong_reference(data: dict[str, Path], tmp_path: Path) -> None:
    # Same names and lengths, different bases: only the @SQ M5 checksums tell them apart.
    other = write_reference(tmp_path / "other.fa", {"chr1": 5000, "chr2": 3000, "chrM": 400}, seed=99, description="random contig")
    alignment_error(r"^source1 \(CRAM\): the reference does not match", data["cram"], "CRAM", tmp_path, other)
    assert not (tmp_path / "source1.cram.crai").exists()
    missing = write_reference(tmp_path / "missing.fa", {"chr1": 5000}, seed=1, description="random contig")
    alignment_error(
        r"^source1: CRAM header names contig 'chr2' \(length 3,000\) which is not in the reference$",
        data["cram"],
        "CRAM",
        tmp_path,
        missing,
    )


def test_ubam_with_an_aligned_read(data: dict[str, Path], tmp_path: Path) -> None:
    message = alignment_error(
        r"^source1: declared UBAM but record 2 \('r1'\) is aligned to chr",
        data["unsorted_bam"],
        "UBAM",
        tmp_path,
    )
    assert "upload aligned reads as BAM or CRAM" in message


def test_unsorted_bam(data: dict[str, Path], tmp_path: Path) -> None:
    alignment_error(
        r"^source1 \(BAM\): it is not coordinate-sorted.*samtools sort", data["unsorted_bam"], "BAM", tmp_path
    )
    assert not (tmp_path / "source1.bam.bai").exists()


def test_bam_contig_disagrees_with_reference(data: dict[str, Path], tmp_path: Path) -> None:
    shorter = write_reference(
        tmp_path / "short.fa", {"chr1": 5000, "chr2": 2999, "chrM": 400}, seed=1, description="random contig"
    )
    alignment_error(
        r"^source1: contig 'chr2' has length 3,000 in the BAM header but 2,999 in the reference$",
        data["bam"],
        "BAM",
        tmp_path,
        shorter,
    )
    alignment_error(
        r"^source1: BAM header names contig 'chr1' .*not in the reference$",
        data["bam"],
        "BAM",
        tmp_path,
        TESTDATA / "xx.fa",
    )


def test_reference_without_fai_is_indexed_in_the_work_dir(data: dict[str, Path], tmp_path: Path) -> None:
    bare = tmp_path / "bare" / "ref.fa"
    bare.parent.mkdir()
    shutil.copy(data["reference"], bare)
    work = tmp_path / "work"
    work.mkdir()
    result = ingest_alignment(data["cram"], "CRAM", "MD5up", work, bare)
    assert result.etags["source1"] == samtools_view_digest(data["cram"], data["reference"])
    assert not (bare.parent / "ref.fa.fai").exists()


def test_unknown_file_type_is_a_programming_error(data: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ingest_alignment(data["bam"], "SAM", "MD5up", tmp_path)
    with pytest.raises(ValueError):
        ingest_alignment(data["bam"], "BAM", "CRC32", tmp_path)

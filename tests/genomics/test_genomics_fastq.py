"""FASTQ read sets: counts and ETags agree with htslib and gzip; bad input fails readably."""

from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest

from seqstore.genomics import ingest_fastq
from seqstore.genomics.fastq_records import fast_checks
from tests.helpers.data import digest
from tests.helpers.fastq import fastq_records, fastx_counts
from tests.helpers.genomics import gunzip_digest, readable_ingest_error, write, write_bgzf, write_gzip
from tests.helpers.native import require_helper
from tests.helpers.paths import TESTDATA


@pytest.fixture(autouse=True, params=["native", "python"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with the record checks' C fast path and with Python alone (the source2
    child of a pair reads the same switch)."""
    if request.param == "native":
        require_helper(fast_checks() is not None, "seqstore/genomics/_fastqscan")
        monkeypatch.setenv("SEQSTORE_NATIVE_FASTQ", "1")
    else:
        monkeypatch.setenv("SEQSTORE_NATIVE_FASTQ", "0")
    return str(request.param)

FASTQ_DIR = TESTDATA / "fastq"


def fastq_error(match: str, source1: Path, source2: Path | None = None, work_dir: Path | None = None) -> str:
    """ingest_fastq must fail readably, with a message matching `match`."""
    return readable_ingest_error(match, ingest_fastq, source1, source2, "MD5up", work_dir or source1.parent)


@pytest.mark.parametrize(
    ("family", "algorithm"), [("MD5up", "md5"), ("SHA256up", "sha256"), ("SHA512up", "sha512")]
)
def test_gzip_fastq_counts_and_etag_match_htslib_and_gzip(
    tmp_path: Path, family: str, algorithm: str
) -> None:
    source = write_gzip(tmp_path / "r1.fastq.gz", fastq_records(500, seed=1))
    result = ingest_fastq(source, None, family, tmp_path)
    assert (result.read_count, result.base_count) == fastx_counts(source)
    assert result.etags == {"source1": gunzip_digest(source, algorithm)}
    assert result.etag_algorithm == f"FASTQ_{family}"
    assert result.alignment == "UNALIGNED"
    assert result.index_path is None
    assert result.stored_paths == {"source1": source}


def test_multi_member_gzip_and_bgzf_are_read_to_the_end(tmp_path: Path) -> None:
    data = fastq_records(3000, seed=2)
    for source in (
        write_gzip(tmp_path / "multi.fq.gz", data, members=7),
        write_bgzf(tmp_path / "bgzf.fq.gz", data),
    ):
        result = ingest_fastq(source, None, "MD5up", tmp_path)
        assert (result.read_count, result.base_count) == fastx_counts(source)
        assert result.etags["source1"] == gunzip_digest(source) == digest(data)
        assert result.stored_paths["source1"] == source


def test_plain_fastq_is_gzipped_for_storage_and_hashed_as_uploaded(tmp_path: Path) -> None:
    data = fastq_records(400, seed=3)
    source = write(tmp_path / "reads.fastq", data)
    work = tmp_path / "work"
    work.mkdir()
    result = ingest_fastq(source, None, "SHA256up", work)
    stored = result.stored_paths["source1"]
    assert stored.parent == work and stored.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(stored.read_bytes()) == data
    assert result.etags["source1"] == digest(data, "sha256")
    assert (result.read_count, result.base_count) == fastx_counts(source)


def test_plain_input_named_like_the_stored_copy_is_not_overwritten(tmp_path: Path) -> None:
    data = fastq_records(10, seed=18)
    source = write(tmp_path / "source1.fastq.gz", data)
    result = ingest_fastq(source, None, "MD5up", tmp_path)
    assert source.read_bytes() == data
    assert gzip.decompress(result.stored_paths["source1"].read_bytes()) == data


def test_paired_counts_both_sources_and_hashes_each(tmp_path: Path) -> None:
    r1 = write_gzip(tmp_path / "r1.fq.gz", fastq_records(800, seed=4, mate=1))
    r2 = write_bgzf(tmp_path / "r2.fq.gz", fastq_records(800, seed=4, mate=2))
    result = ingest_fastq(r1, r2, "MD5up", tmp_path)
    counts1, counts2 = fastx_counts(r1), fastx_counts(r2)
    assert result.read_count == counts1[0] + counts2[0] == 1600
    assert result.base_count == counts1[1] + counts2[1]
    assert result.etags == {"source1": gunzip_digest(r1), "source2": gunzip_digest(r2)}
    assert result.stored_paths == {"source1": r1, "source2": r2}


def test_paired_names_ignore_comments_and_mate_suffixes(tmp_path: Path) -> None:
    r1 = write(tmp_path / "r1.fq", fastq_records(50, seed=5, mate=1, style="slash"))
    r2 = write(tmp_path / "r2.fq", fastq_records(50, seed=5, mate=2, style="slash"))
    assert ingest_fastq(r1, r2, "MD5up", tmp_path).read_count == 100


def test_windows_line_endings_and_missing_final_newline_are_accepted(tmp_path: Path) -> None:
    data = fastq_records(20, seed=6).replace(b"\n", b"\r\n").rstrip(b"\r\n")
    source = write(tmp_path / "crlf.fq", data)
    result = ingest_fastq(source, None, "MD5up", tmp_path)
    assert (result.read_count, result.base_count) == fastx_counts(source)
    assert result.etags["source1"] == digest(data)


def test_a_record_longer_than_a_read_chunk(tmp_path: Path) -> None:
    long_read = b"@long\n" + b"ACGT" * 700_000 + b"\n+\n" + b"I" * 2_800_000 + b"\n"
    source = write_gzip(
        tmp_path / "long.fq.gz", fastq_records(3, seed=7) + long_read + fastq_records(3, seed=8)
    )
    result = ingest_fastq(source, None, "MD5up", tmp_path)
    assert (result.read_count, result.base_count) == fastx_counts(source)


@pytest.mark.parametrize(
    "name",
    ["r1.fq", "r2.fq", "UMI.fq", "filter_casava.fq", "interleaved_casava.fq", "longline.fq", "minimal.fq"],
)
def test_htslib_fastq_files(tmp_path: Path, name: str) -> None:
    source = write_gzip(tmp_path / f"{name}.gz", (FASTQ_DIR / name).read_bytes())
    result = ingest_fastq(source, None, "MD5up", tmp_path)
    assert (result.read_count, result.base_count) == fastx_counts(FASTQ_DIR / name)
    assert result.etags["source1"] == digest((FASTQ_DIR / name).read_bytes())


def test_htslib_fastq_with_every_quality_character(tmp_path: Path) -> None:
    source = TESTDATA / "faidx" / "fastqs.fq"
    result = ingest_fastq(source, None, "MD5up", tmp_path)
    assert (result.read_count, result.base_count) == fastx_counts(source)


def test_htslib_paired_files_as_plain_uploads(tmp_path: Path) -> None:
    result = ingest_fastq(FASTQ_DIR / "r1.fq", FASTQ_DIR / "r2.fq", "MD5up", tmp_path)
    assert result.read_count == fastx_counts(FASTQ_DIR / "r1.fq")[0] * 2
    assert gzip.decompress(result.stored_paths["source2"].read_bytes()) == (FASTQ_DIR / "r2.fq").read_bytes()


def test_multi_line_fastq_is_read_like_htslib_reads_it(tmp_path: Path) -> None:
    source = write_gzip(tmp_path / "multiline.fq.gz", (FASTQ_DIR / "multiline.fq").read_bytes() + b"\n")
    result = ingest_fastq(source, None, "MD5up", tmp_path)
    assert (result.read_count, result.base_count) == fastx_counts(FASTQ_DIR / "multiline.fq") == (2, 39 * 2)


def test_multi_line_fastq_with_too_much_quality(tmp_path: Path) -> None:
    wrapped = b"@a\nACGT\n+\nIIII\n@b\nACGT\nAC\n+\nIIII\nII\n"
    source = write(tmp_path / "wrapped.fq", wrapped + b"@c\nACGT\nAC\n+\nIIII\nIII\n")
    fastq_error(r"^source1: record 3 \(line 16\): sequence and quality lengths differ \(6 vs 7\)$", source)
    source = write(tmp_path / "first.fq", b"@a\nACGT\nAC\n+\nIIII\nIII\n")
    fastq_error(
        r"^source1: record 1 \(line 3\): expected the '\+' separator line, found 'AC' \(read as multi-line "
        r"FASTQ: sequence and quality lengths differ \(6 vs 7\)\)$",
        source,
    )


# --- bad input -------------------------------------------------------------------------------


def test_truncated_gzip(tmp_path: Path) -> None:
    whole = write_gzip(tmp_path / "whole.fq.gz", fastq_records(2000, seed=9)).read_bytes()
    source = write(tmp_path / "cut.fq.gz", whole[: len(whole) // 2])
    fastq_error(r"^source1: gzip stream is truncated", source)


def test_sequence_and_quality_lengths_differ(tmp_path: Path) -> None:
    records = fastq_records(30, seed=10).split(b"\n")
    records[4 * 11 + 3] = records[4 * 11 + 3][:-1]  # record 12's quality loses a character
    source = write_gzip(tmp_path / "short-qual.fq.gz", b"\n".join(records))
    length = len(records[4 * 11 + 1])
    fastq_error(
        rf"^source1: record 12 \(line 48\): sequence and quality lengths differ \({length} vs {length - 1}\)$",
        source,
    )


def test_missing_plus_line(tmp_path: Path) -> None:
    records = fastq_records(10, seed=11).split(b"\n")
    records[4 * 6 + 2] = b"ACGT"
    source = write_gzip(tmp_path / "no-plus.fq.gz", b"\n".join(records))
    fastq_error(r"^source1: record 7 \(line 27\): expected the '\+' separator line, found 'ACGT' ", source)


def test_header_without_at_sign(tmp_path: Path) -> None:
    data = fastq_records(10, seed=12)
    source = write(tmp_path / "blank.fq", data + b"\n" + data)
    fastq_error(
        r"^source1: record 11 \(line 41\): expected a header line starting with '@', found an empty line",
        source,
    )


def test_file_ends_inside_a_record(tmp_path: Path) -> None:
    data = fastq_records(5, seed=13)
    source = write_gzip(tmp_path / "cut.fq.gz", data + b"@extra\nACGT\n")
    fastq_error(r"^source1: record 6 \(line 21\) is cut short", source)


def test_illegal_sequence_and_quality_characters(tmp_path: Path) -> None:
    bad_sequence = write(tmp_path / "seq.fq", b"@a\nACGT\n+\nIIII\n@b\nAC9T\n+\nIIII\n")
    fastq_error(r"^source1: record 2 \(line 6\): illegal character '9' in sequence", bad_sequence)
    bad_quality = write(tmp_path / "qual.fq", b"@a\nACGT\n+\nII I\n")
    fastq_error(r"^source1: record 1 \(line 4\): illegal quality character ' '", bad_quality)


def test_paired_sources_with_different_counts(tmp_path: Path) -> None:
    r1 = write_gzip(tmp_path / "r1.fq.gz", fastq_records(100, seed=14, mate=1))
    r2 = write_gzip(tmp_path / "r2.fq.gz", fastq_records(99, seed=14, mate=2))
    fastq_error("different record counts: source1 has 100, source2 has 99", r1, r2)


def test_paired_sources_with_mismatched_names(tmp_path: Path) -> None:
    r1 = write_gzip(tmp_path / "r1.fq.gz", fastq_records(100, seed=15, mate=1))
    mate2 = fastq_records(100, seed=15, mate=2).replace(b"@SIM:1:FC:1:0:42 ", b"@OTHER:42 ")
    r2 = write_gzip(tmp_path / "r2.fq.gz", mate2)
    fastq_error(r"disagree at record 43 .*'SIM:1:FC:1:0:42'.*'OTHER:42'", r1, r2)


def test_paired_source_error_names_the_bad_source(tmp_path: Path) -> None:
    r1 = write_gzip(tmp_path / "r1.fq.gz", fastq_records(100, seed=16, mate=1))
    r2 = write(tmp_path / "r2.fq", b"not a fastq\n")
    fastq_error(r"^source2: this looks like text starting with 'not a fastq', not FASTQ$", r1, r2)
    assert not (tmp_path / "source2.fastq.gz").exists()


def test_empty_inputs(tmp_path: Path) -> None:
    fastq_error(r"^source1: the file is empty \(0 bytes\)", write(tmp_path / "empty.fq", b""))
    fastq_error(r"^source1: contains no FASTQ records$", write(tmp_path / "empty.fq.gz", gzip.compress(b"")))
    fastq_error(r"^source1: contains no FASTQ records$", write(tmp_path / "newline.fq", b"\n\n"))


def test_bam_and_cram_declared_as_fastq(tmp_path: Path) -> None:
    bam = tmp_path / "ce.bam"
    pysam.view("-b", "-o", str(bam), str(TESTDATA / "ce#5b.sam"), catch_stdout=False)
    fastq_error(r"^source1: this looks like a BAM file, not FASTQ$", bam)
    fastq_error(
        r"^source1: this looks like a CRAM file, not FASTQ$",
        TESTDATA / "ce#5b_java.cram",
        work_dir=tmp_path,
    )
    fastq_error(r"SAM text, not FASTQ", TESTDATA / "ce#5b.sam", work_dir=tmp_path)
    fastq_error(r"FASTA text, not FASTQ", TESTDATA / "xx.fa", work_dir=tmp_path)


def test_binary_junk_and_other_compressions(tmp_path: Path) -> None:
    fastq_error(r"binary data \(first bytes 00 01 02", write(tmp_path / "junk.fq", bytes(range(256)) * 4))
    fastq_error(r"bzip2-compressed data, not FASTQ", write(tmp_path / "r.fq.bz2", b"BZh91AY&SY" + bytes(50)))
    fastq_error(r"gzip-compressed binary data", write_gzip(tmp_path / "junk.gz", bytes(range(256))))
    corrupt = bytearray(write_gzip(tmp_path / "ok.gz", fastq_records(500, seed=17)).read_bytes())
    corrupt[len(corrupt) // 2 : len(corrupt) // 2 + 64] = bytes(64)
    fastq_error(
        r"^source1: gzip (data is corrupt|stream is truncated)", write(tmp_path / "bad.gz", bytes(corrupt))
    )


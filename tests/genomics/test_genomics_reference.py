"""Reference FASTA import: md5 and sequence list agree with md5sum and htslib; bad FASTA fails."""

from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest

from seqstore.genomics import ingest_reference
from tests.helpers.data import md5
from tests.helpers.fasta import write_reference
from tests.helpers.genomics import readable_ingest_error, write, write_bgzf, write_gzip
from tests.helpers.paths import TESTDATA


def htslib_sequences(path: Path) -> list[tuple[str, int]]:
    with pysam.FastaFile(str(path)) as fasta:
        return list(zip(fasta.references, fasta.lengths, strict=True))


def reference_error(match: str, source: Path, work_dir: Path) -> str:
    """ingest_reference must fail readably, with a message matching `match`."""
    return readable_ingest_error(match, ingest_reference, source, work_dir)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def test_plain_fasta_is_stored_as_is(tmp_path: Path, work: Path) -> None:
    source = write_reference(tmp_path / "ref.fa", {"chr1": 1000, "chr2": 61, "chr3": 60}, seed=1, description="random contig")
    result = ingest_reference(source, work)
    assert result.md5 == md5(source.read_bytes())
    assert result.fasta_path == source
    assert (
        result.fai_path.parent == work and result.fai_path.read_bytes() == Path(f"{source}.fai").read_bytes()
    )
    assert result.sequences == htslib_sequences(source) == [("chr1", 1000), ("chr2", 61), ("chr3", 60)]


@pytest.mark.parametrize("compression", ["gzip", "bgzf"])
def test_compressed_fasta_is_stored_plain(tmp_path: Path, work: Path, compression: str) -> None:
    plain = write_reference(tmp_path / "ref.fa", {"a": 5000, "b": 777}, seed=2, description="random contig")
    data = plain.read_bytes()
    source = (write_gzip if compression == "gzip" else write_bgzf)(tmp_path / "ref.fa.gz", data)
    result = ingest_reference(source, work)
    assert result.fasta_path == work / "reference.fasta" and result.fasta_path.read_bytes() == data
    assert result.md5 == md5(data)
    assert result.sequences == htslib_sequences(plain)
    assert result.fai_path == work / "reference.fasta.fai"


@pytest.mark.parametrize("name", ["ce.fa", "xx.fa", "auxf.fa"])
def test_htslib_fasta_files(work: Path, name: str) -> None:
    source = TESTDATA / name
    result = ingest_reference(source, work)
    assert result.md5 == md5(source.read_bytes())
    assert result.sequences == htslib_sequences(source)


def test_iupac_lowercase_gaps_and_crlf_are_accepted(tmp_path: Path, work: Path) -> None:
    source = write(tmp_path / "odd.fa", b">one desc\r\nACGTacgtNnRYKMSWBDHVU\r\n>two\r\n--**acgt\r\n")
    result = ingest_reference(source, work)
    assert result.sequences == htslib_sequences(source)


def test_input_already_in_the_work_dir_is_left_alone(work: Path) -> None:
    source = write(work / "reference.fasta", b">a\nACGT\n")
    result = ingest_reference(source, work)
    assert source.read_bytes() == b">a\nACGT\n" and not source.is_symlink()
    assert result.fasta_path == source and result.sequences == [("a", 4)]


# --- bad input -------------------------------------------------------------------------------


def test_duplicate_names(tmp_path: Path, work: Path) -> None:
    source = write(tmp_path / "dup.fa", b">chr1\nACGT\n>chr2 first\nAC\n>chr2 second\nGT\n")
    reference_error(r"^reference: sequence name 'chr2' is used more than once$", source, work)


def test_empty_sequences(tmp_path: Path, work: Path) -> None:
    reference_error(
        r"^reference: sequence 'b' is empty$", write(tmp_path / "mid.fa", b">a\nAC\n>b\n>c\nGT\n"), work
    )
    reference_error(r"^reference: sequence 'c' is empty$", write(tmp_path / "end.fa", b">a\nAC\n>c\n\n"), work)
    reference_error(r"has a '>' line without a name", write(tmp_path / "noname.fa", b">a\nAC\n> x\nGT\n"), work)


def test_illegal_characters(tmp_path: Path, work: Path) -> None:
    source = write(tmp_path / "bad.fa", b">a\nACGT\n>b\nACGTACGT\nACGJACGT\n")
    reference_error(
        r"^reference: sequence 'b' has illegal character 'J' at base 12 \(line 'ACGJACGT'\)", source, work
    )
    reference_error(r"illegal character ' '", write(tmp_path / "digits.fa", b">a\nACGT 1234\n"), work)


def test_truncated_gzip(tmp_path: Path, work: Path) -> None:
    plain = write_reference(tmp_path / "ref.fa", {"a": 20000}, seed=3, description="random contig")
    whole = gzip.compress(plain.read_bytes())
    reference_error(
        r"^reference: gzip stream is truncated", write(tmp_path / "cut.fa.gz", whole[: len(whole) // 2]), work
    )
    assert list(work.iterdir()) == []


def test_not_fasta(tmp_path: Path, work: Path) -> None:
    reference_error(
        r"^reference: this looks like FASTQ text, not FASTA",
        write(tmp_path / "r.fa", b"@r\nAC\n+\nII\n"),
        work,
    )
    reference_error(r"binary data", write(tmp_path / "bin.fa", bytes(range(256))), work)
    reference_error(r"a BAM file, not FASTA", TESTDATA / "range.bam", work)
    reference_error(r"^reference: the file is empty", write(tmp_path / "empty.fa", b""), work)
    reference_error(
        r"^reference: contains no sequences$", write(tmp_path / "empty.fa.gz", gzip.compress(b"")), work
    )

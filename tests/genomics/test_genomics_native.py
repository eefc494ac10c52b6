"""The C helpers: for BAM and CRAM (seqstore/genomics/native.py), built where it can be, and a
scanning child that dies fails the read set with a sentence, not a traceback (its answers are
checked against samtools by every test of test_genomics_alignment.py, run on both paths); for
FASTQ, the fast path of the record checks decides exactly what Python decides."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from seqstore.genomics import IngestError, fastq, fastq_records, ingest_alignment, native
from tests.helpers.alignments import sam_to_bam
from tests.helpers.native import require_helper
from tests.helpers.paths import TESTDATA


def test_the_helpers_are_built_wherever_a_compiler_is() -> None:
    require_helper(native.available(), "seqstore/genomics/_htscan")
    require_helper(fastq_records.fast_checks() is not None, "seqstore/genomics/_fastqscan")


def test_a_scanner_that_dies_fails_the_read_set_readably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_helper(native.available(), "seqstore/genomics/_htscan")
    bam = sam_to_bam(TESTDATA / "ce#1000.sam", tmp_path / "ce.bam")
    work = tmp_path / "work"
    work.mkdir()
    # The child cannot load htslib from this path: it ends with a Python traceback.
    monkeypatch.setattr(native, "htslib_library", lambda: str(tmp_path / "missing.so"))
    with pytest.raises(IngestError) as caught:
        ingest_alignment(bam, "BAM", "MD5up", work)
    assert str(caught.value) == (
        "source1 (BAM): htslib could not read it (the reader stopped: exit status 1)"
    )
    assert list(work.iterdir()) == []  # no index, no log left behind


def test_a_fastq_scanner_that_dies_fails_the_read_set_readably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """source2 of a pair is scanned in a child process; if that child dies, the read set says
    so in a sentence and the operator's log gets the child's last words."""
    pair = []
    for mate in (1, 2):
        path = tmp_path / f"r_{mate}.fastq"
        path.write_text("".join(f"@r{i}/{mate}\nACGT\n+\nIIII\n" for i in range(10)))
        pair.append(path)
    monkeypatch.setattr(fastq, "_CHILD", "import sys; sys.stderr.write('the child broke'); sys.exit(3)")
    with pytest.raises(IngestError) as caught:
        fastq.ingest_fastq(pair[0], pair[1], "MD5up", tmp_path)
    assert str(caught.value) == "source2: the FASTQ reader stopped (exit status 3); the file was not checked"
    assert "the child broke" in caplog.text


# --- the C fast path and Python agree ------------------------------------------------------------


def _random_fastq(rng: random.Random) -> bytes:
    """A small FASTQ with the oddities the checks must agree on: mate suffixes, comments,
    tabs, Windows line ends, wrapped records, and one random corruption."""
    records = []
    for number in range(rng.randint(1, 12)):
        length = rng.randint(0, 12)
        sequence = "".join(rng.choice("ACGTNacgtn.-RY") for _ in range(length))
        quality = "".join(chr(rng.randint(33, 126)) for _ in range(length))
        name = f"@r{number}" + rng.choice(["", "/1", "/2", "/2/1", " comment", "\tx", "/1 c"])
        separator = rng.choice(["+", "+", "+" + name[1:]])
        if length > 3 and rng.random() < 0.15:  # wrapped over two lines
            cut = rng.randint(1, length - 1)
            sequence = sequence[:cut] + "\n" + sequence[cut:]
            quality = quality[:cut] + "\n" + quality[cut:]
        records.append(f"{name}\n{sequence}\n{separator}\n{quality}\n")
    text = "".join(records)
    if rng.random() < 0.2:
        text = text.replace("\n", "\r\n")
    if rng.random() < 0.7 and text:
        position = rng.randrange(len(text))
        corruption = rng.choice(["delete", "insert", "replace", "cut", "blank"])
        junk = rng.choice(["\r", "\n", "@", "+", "x", " ", "\t", "\x7f", "é"])
        if corruption == "delete":
            text = text[:position] + text[position + 1 :]
        elif corruption == "insert":
            text = text[:position] + junk + text[position:]
        elif corruption == "replace":
            text = text[:position] + junk + text[position + 1 :]
        elif corruption == "cut":
            text = text[:position]
        else:
            text = text + "\n" * rng.randint(1, 3)
    return text.encode("utf-8")


def _check_with(checker_module: object, data: bytes, chunks: list[int]) -> tuple[object, ...]:
    original = fastq_records.fast_checks
    fastq_records.fast_checks = lambda: checker_module
    try:
        checker = fastq_records.FastqChecker("source1", collect_names=True)
        names: list[bytes] = []
        position = 0
        try:
            for size in chunks:
                checker.feed(data[position : position + size])
                names += checker.take_names()
                position += size
            checker.feed(data[position:])
            checker.finish()
            names += checker.take_names()
        except IngestError as error:
            return ("error", str(error))
        return ("ok", checker.records, checker.bases, b"".join(names))
    finally:
        fastq_records.fast_checks = original


def test_the_c_fast_path_agrees_with_python_on_odd_and_broken_fastq() -> None:
    require_helper(fastq_records.fast_checks() is not None, "seqstore/genomics/_fastqscan")
    fast = fastq_records.fast_checks()
    rng = random.Random(20261124)
    outcomes = set()
    for _ in range(3000):
        data = _random_fastq(rng)
        chunks = [rng.randint(1, 40) for _ in range(rng.randint(0, 6))]
        expected = _check_with(None, data, chunks)
        assert _check_with(fast, data, chunks) == expected, data
        outcomes.add(expected[0] if expected[0] == "ok" else str(expected[1]).split(": ", 2)[-1][:25])
    assert "ok" in outcomes and len(outcomes) > 8  # both clean files and many kinds of error

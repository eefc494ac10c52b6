"""The C helper for BAM and CRAM ingestion (seqstore/genomics/native.py): built where it can be,
and a scanning child that dies fails the read set with a sentence, not a traceback. Its answers
are checked against samtools by every test of test_genomics_alignment.py, run on both paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from genomics_data import HTSLIB_TESTDATA, sam_to_bam

from seqstore.genomics import IngestError, ingest_alignment, native


def test_the_helper_is_built_wherever_a_compiler_is() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine: the helper is optional there")
    assert native.available(), (
        "seqstore/genomics/_htscan was not built or cannot load htslib; reinstall with "
        "`pip install -e .` and read the compiler's output"
    )


def test_a_scanner_that_dies_fails_the_read_set_readably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not native.available():
        pytest.fail("the C helper is not available (see the test above)")
    bam = sam_to_bam(HTSLIB_TESTDATA / "ce#1000.sam", tmp_path / "ce.bam")
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

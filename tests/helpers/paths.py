"""Where the repository and its test data are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "tests" / "data" / "htslib"  # htslib's own test corpus (its LICENSE beside it)

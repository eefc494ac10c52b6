#!/usr/bin/env python
"""Model-driven fuzzing of seqstore's storage API: the command line of the tests.fuzzing package
(tests/fuzzing/__init__.py says what it sends and checks).

    bench/fuzz.py --requests 10000 [--seed N] [--url URL --access-key K --secret S]

Without --url it starts its own `seqstore serve` on a temporary data directory. Prints the count of
2xx/4xx/5xx answers per operation and overall; exits 1 if any answer is >= 500, any request got no
answer, or the victim's data changed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's root: tests.fuzzing

from tests.fuzzing.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

"""python -m tests.fuzzing: the fuzzer's command line (as bench/fuzz.py)."""

import sys

from tests.fuzzing.cli import main

sys.exit(main())

"""Whether a test may go on without one of the optional C helpers (setup.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def require_helper(built: bool, module: str, headers: tuple[str, ...] = ()) -> None:
    """Return if the C helper `module` (its path in the package, e.g. seqstore/genomics/_htscan)
    is usable. A helper is optional only where nothing can compile it: with a C compiler on the
    machine (and the system `headers` it includes), a missing one fails the test; without, the
    test is skipped (and says why)."""
    if built:
        return
    missing = [header for header in headers if not Path(header).exists()]
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler is None or missing, (
        f"{module} was not built or cannot load; reinstall with `pip install -e .` and read the "
        "compiler's output"
    )
    reason = f"no {', '.join(missing)}" if compiler else "no C compiler on this machine"
    pytest.skip(f"{reason}: {module} could not be built")

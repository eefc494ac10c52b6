"""FASTQ sources scanned while they arrive (docs/streaming.md): each source of an upload is
scanned by its own child process (the same scan as a pair's source2, fastq.py) reading a file
that is still being fed (streams.open_source); once the feed ends, `result()` is the scan's
report and `fastq.fastq_result` turns the sources' reports into the read set's metadata exactly as
`ingest_fastq` does."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from .fastq import ChildStopped, _SourceScan, child_command, child_report
from .htslib import python_child_environment


class ScanBroken(Exception):
    """The scan ended for a reason that is not the file's (the child was killed, crashed or
    cancelled): the caller reads the file again the ordinary way."""


class SourceScanner:
    """One source's scan in a child process, started at once on `path` (which may still grow)."""

    def __init__(self, name: str, path: Path, family: str, work_dir: Path) -> None:
        self.name = name
        self.work_dir = work_dir
        self._lock = threading.Lock()
        self._cancelled = False
        self._child = subprocess.Popen(
            child_command(name, path, family, work_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=python_child_environment(),
        )

    def result(self) -> _SourceScan:
        """Wait for the scan: its report, IngestError for the file's problems, ScanBroken otherwise."""
        out, err = self._child.communicate()
        with self._lock:
            if self._cancelled:
                raise ScanBroken(f"{self.name}: the scan was cancelled")
        try:
            return child_report(self.name, self._child.returncode, out, err)
        except ChildStopped as exc:
            raise ScanBroken(str(exc)) from None

    def cancel(self) -> None:
        """Stop the scan (its result becomes ScanBroken) and reap the child."""
        with self._lock:
            self._cancelled = True
        if self._child.poll() is None:
            self._child.kill()
        self._child.communicate()

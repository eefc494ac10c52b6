"""One decode of a BAM or CRAM for ingestion, through the C helper ``_htscan`` on pysam's htslib.

The helper reads each record once and gives back, from that single decode, the SAM text that
`samtools view FILE` prints (hashed here, in another thread, for the ETag), the primary read and
base counts, and for a BAM the BAI, the same bytes `samtools index` writes (a CRAM's CRAI is
built after the scan, from its container headers). The other path (two samtools children and
counting in Python, in ``alignment.py``) decodes a BAM twice and parses the text again; it
stays where the helper was not built (no C compiler at install time) or
``SEQSTORE_NATIVE_HTSLIB=0`` turns it off (``seqstore.native`` loads every helper the same way).

The scan runs in a child process (``main``), as samtools did: a file that crashes htslib takes
down the child, not the server, and htslib's messages go to the child's stderr, where
``htslib.describe_failure`` reads them.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .. import native as c_helpers
from .htslib import how_it_ended, read_log

SWITCH = c_helpers.HELPERS["htslib"].switch


@dataclass(frozen=True)
class ScanResult:
    records: int
    reads: int
    bases: int
    digest: str
    header: str
    log: str  # htslib's warnings, if any


class ScanFailure(Exception):
    """The scan stopped: ``code`` is "open", "header", "read", "index", "mapped" or "crash";
    ``details`` the helper's values (for "mapped": record number, read name, contig, position,
    flag; for "crash": how the child ended)."""

    def __init__(self, code: str, details: list[object], header: str | None, log: str) -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details
        self.header = header  # None when the header could not be read
        self.log = log


@functools.cache
def htslib_library() -> str | None:
    """Returns the path of the htslib shared library inside pysam, or None."""
    spec = importlib.util.find_spec("pysam")
    if spec is None or not spec.submodule_search_locations:
        return None
    for directory in spec.submodule_search_locations:
        for candidate in sorted(Path(directory).glob("libchtslib*.so")):
            return str(candidate)
    return None


def load_library(module: ModuleType) -> str | None:
    """The helper's init hook (seqstore.native): bind it to pysam's htslib; None when that
    worked, else why it cannot be used."""
    library = htslib_library()
    if library is None:
        return "pysam's htslib was not found; BAM/CRAM ingestion uses samtools children"
    try:
        module.load(library)
    except OSError as exc:
        # Typically pysam was upgraded after seqstore was installed: reinstalling rebuilds it.
        return f"{exc}; BAM/CRAM ingestion uses samtools children. Reinstall seqstore to rebuild it"
    return None


def available() -> bool:
    """True when ingestion can use the helper (built, loadable, not switched off)."""
    return c_helpers.helper("htslib") is not None


def scan(
    path: Path,
    family: str,
    index_path: Path | None,
    log_path: Path,
    env: dict[str, str],
    *,
    unmapped_only: bool = False,
    cram_reference: Path | None = None,
) -> ScanResult:
    """Scans a BAM, or a CRAM when ``cram_reference`` is given, in a child process, writing its
    BAI or CRAI to ``index_path``. Raises ScanFailure (with the child's stderr) if the scan
    stopped, with code "crash" if the child died."""
    library = htslib_library()
    assert library is not None
    command = [
        sys.executable,
        "-c",
        "from seqstore.genomics.native import main; main()",
        library,
        str(path),
        family,
        str(index_path) if index_path is not None else "",
        "1" if unmapped_only else "0",
        str(cram_reference) if cram_reference is not None else "",
    ]
    with open(log_path, "wb") as log:
        child = subprocess.run(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env)
    log_text = read_log(log_path)
    if child.returncode != 0 or not child.stdout:
        raise ScanFailure("crash", [how_it_ended(child.returncode)], None, log_text)
    answer = json.loads(child.stdout)
    if "error" in answer:
        code, *details = answer["error"]
        raise ScanFailure(code, details, answer.get("header"), log_text)
    return ScanResult(**answer, log=log_text)


def _child(
    library: str, path: str, family: str, index_path: str, unmapped_only: str, cram_reference: str
) -> dict[str, object]:
    """Runs in the child: scans, hashes the SAM text beside the scan, then for a CRAM builds its
    CRAI (from container headers only: milliseconds), and returns the answer."""
    from . import _htscan  # type: ignore[attr-defined]
    from .streams import CHUNK_SIZE, ChunkHasher, hash_factory

    _htscan.load(library)
    answer: dict[str, object] = {}
    try:
        if cram_reference:
            scanner = _htscan.Scanner(path, None, 0, False, cram_reference)
        else:
            scanner = _htscan.Scanner(path, index_path or None, 0, unmapped_only == "1")
        answer["header"] = scanner.header.decode("utf-8", "replace")
        with ChunkHasher(hash_factory(family)) as hasher:
            while chunk := scanner.read(CHUNK_SIZE):
                hasher.update(chunk)
            scanner.finish()
            answer["digest"] = hasher.hexdigest()
    except _htscan.ScanError as error:
        answer["error"] = [_jsonable(value) for value in error.args]
        return answer
    if cram_reference and index_path:
        status = _htscan.build_index(path, index_path)
        if status != 0:
            answer["error"] = ["index", status]
            return answer
    answer.update(records=scanner.records, reads=scanner.reads, bases=scanner.bases)
    return answer


def _jsonable(value: object) -> object:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def main() -> None:
    """The child's entry point: arguments as ``scan`` passes them, the answer as JSON."""
    sys.stdout.write(json.dumps(_child(*sys.argv[1:7])))

"""FASTQ read sets: validate record structure, count reads and bases, compute ETags.

One streamed pass per source. ISA-L decompresses in its own thread, a ChunkHasher hashes in
another, and this thread checks records a whole chunk at a time with C-level bytes operations
(split, translate, map) rather than a Python loop per record; only a chunk that fails a check is
walked record by record to name the first bad one. Of a pair, source2 is scanned at the same
time in a child process (its own GIL), and the read names are compared through running hashes.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isal import igzip_threaded

from .errors import IngestError, show_bytes
from .fastq_records import FastqChecker
from .htslib import how_it_ended, python_child_environment
from .results import ReadSetIngest
from .streams import CHUNK_SIZE, ChunkHasher, Sniffed, hash_factory, open_content, sniff

log = logging.getLogger(__name__)


# Level 1 keeps gzip-compressing a plain upload from being the slowest part of ingestion.
PLAIN_UPLOAD_COMPRESS_LEVEL = 1


class _Cancelled(Exception):
    """The other source of a pair failed, so this one stops early."""


@dataclass
class _SourceScan:
    records: int
    bases: int
    digest: str
    names_digest: str | None
    stored_path: Path


def ingest_fastq(source1: Path, source2: Path | None, family: str, work_dir: Path) -> ReadSetIngest:
    """Validates one or two (paired) FASTQ sources and returns their read set metadata.

    Each source may be gzip (any number of members), BGZF or plain FASTQ; a plain source is
    gzip-compressed into ``work_dir`` and that copy is what ``stored_paths`` names. Raises
    IngestError for anything that is not well-formed FASTQ, or for pairs that do not match.
    """
    factory = hash_factory(family)
    sources = {"source1": Path(source1)}
    if source2 is not None:
        sources["source2"] = Path(source2)
    paired = len(sources) == 2

    if paired:
        scans = _scan_in_parallel(sources, factory, work_dir, family)
    else:
        scans = {"source1": _scan_source("source1", sources["source1"], factory, work_dir, False, None)}
    return fastq_result(sources, scans, family)


def fastq_result(sources: dict[str, Path], scans: dict[str, _SourceScan], family: str) -> ReadSetIngest:
    """The read set metadata of scanned sources (of a pair: once its names are found to agree)."""
    if len(scans) == 2:
        _check_pair(sources, scans)
    return ReadSetIngest(
        read_count=sum(scan.records for scan in scans.values()),
        base_count=sum(scan.bases for scan in scans.values()),
        etags={name: scan.digest for name, scan in scans.items()},
        etag_algorithm=f"FASTQ_{family}",
        alignment="UNALIGNED",
        index_path=None,
        stored_paths={name: scan.stored_path for name, scan in scans.items()},
    )


def _scan_in_parallel(
    sources: dict[str, Path], factory: Callable[[], Any], work_dir: Path, family: str
) -> dict[str, _SourceScan]:
    """Scans source1 in this process and source2 in a child process at the same time.

    Checking records holds the GIL, so two scanning threads in one process take turns; a child
    has its own interpreter and the two sources really use both cores. The first failure stops
    the other scan and is raised.
    """
    cancel = threading.Event()
    child = subprocess.Popen(
        child_command("source2", sources["source2"], family, work_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=python_child_environment(),
    )

    def wait_for_child() -> _SourceScan:
        out, err = child.communicate()
        if cancel.is_set():
            raise _Cancelled()
        try:
            return child_report("source2", child.returncode, out, err)
        except BaseException:
            cancel.set()
            raise

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-fastq") as pool:
        second = pool.submit(wait_for_child)
        try:
            first = _scan_source("source1", sources["source1"], factory, work_dir, True, cancel)
        except BaseException as failure:
            cancel.set()
            child.kill()
            second.exception()  # wait for the child to be reaped
            # A killed child cannot remove its half-written gzip copy of a plain source2.
            for leftover in ("source2.fastq.gz", "source2.compressed.fastq.gz"):
                partial = Path(work_dir) / leftover
                if partial.exists() and partial.resolve() != sources["source2"].resolve():
                    partial.unlink()
            if isinstance(failure, _Cancelled):
                second.result()  # source2 failed first: raise its error
            raise
    return {"source1": first, "source2": second.result()}


class ChildStopped(IngestError):
    """The scanning child ended without a report: not the file's fault."""


def child_report(name: str, returncode: int, out: bytes, err: bytes) -> _SourceScan:
    """What a scanning child (`child_command`) found; IngestError for the file's problems."""
    if returncode:
        # Not the file's fault (a file's problems come back as an IngestError's message):
        # the read set says the reader stopped, the operator's log says why.
        ended = how_it_ended(returncode)
        log.warning("%s: the FASTQ scanning child ended with %s: %s", name, ended,
                    err.decode(errors="replace")[-4000:])
        raise ChildStopped(f"{name}: the FASTQ reader stopped ({ended}); the file was not checked")
    report = json.loads(out)
    if "error" in report:
        raise IngestError(report["error"])
    return _SourceScan(**{**report, "stored_path": Path(report["stored_path"])})


def child_command(name: str, path: Path, family: str, work_dir: Path) -> list[str]:
    """The command of a child that scans one source (collecting its read names) and prints its
    report as JSON."""
    return [sys.executable, "-c", _CHILD, name, str(path), family, str(work_dir)]


# The child that scans source2: prints its _SourceScan (or the IngestError message) as JSON.
_CHILD = """
import json, sys
from pathlib import Path
from seqstore.genomics.fastq import IngestError, _scan_source, hash_factory
name, path, family, work_dir = sys.argv[1:5]
try:
    scan = _scan_source(name, Path(path), hash_factory(family), Path(work_dir), True, None)
    report = {**vars(scan), "stored_path": str(scan.stored_path)}
except IngestError as error:
    report = {"error": str(error)}
sys.stdout.write(json.dumps(report))
"""


def _check_pair(sources: dict[str, Path], scans: dict[str, _SourceScan]) -> None:
    first, second = scans["source1"], scans["source2"]
    if first.records != second.records:
        raise IngestError(
            f"paired sources have different record counts: source1 has {first.records:,}, "
            f"source2 has {second.records:,}; both must list the same reads in the same order"
        )
    if first.names_digest == second.names_digest:
        return
    # The running name hashes differ: walk both files in step to name the first difference.
    for number, (name1, name2) in enumerate(
        zip(
            _iter_names("source1", sources["source1"]),
            _iter_names("source2", sources["source2"]),
            strict=False,
        ),
        start=1,
    ):
        if name1 != name2:
            raise IngestError(
                f"paired sources disagree at record {number:,} (line {4 * number - 3:,}): source1 has read "
                f"{show_bytes(name1[1:])}, source2 has {show_bytes(name2[1:])}; both must list the same "
                "reads in the same order"
            )
    raise IngestError("paired sources list different read names")  # pragma: no cover - hashes agree then


def _require_fastq(name: str, sniffed: Sniffed) -> None:
    if sniffed.container == "empty":
        raise IngestError(f"{name}: the file is empty (0 bytes); expected gzip-compressed FASTQ")
    wrong_container = sniffed.container not in ("gzip", "bgzf", "plain")
    head = sniffed.head
    # Only white space: let the parser report that there are no records.
    not_fastq = bool(head.strip()) and (not head.startswith(b"@") or sniffed.describe().endswith("SAM text"))
    if wrong_container or not_fastq:
        raise IngestError(f"{name}: this looks like {sniffed.describe()}, not FASTQ")


def _scan_source(
    name: str,
    path: Path,
    factory: Callable[[], Any],
    work_dir: Path,
    collect_names: bool,
    cancel: threading.Event | None,
) -> _SourceScan:
    """Reads one source once: hashes its content, checks and counts its records."""
    sniffed = sniff(name, path)
    _require_fastq(name, sniffed)
    stored_path = path
    if not sniffed.is_gzip:
        stored_path = Path(work_dir) / f"{name}.fastq.gz"
        if stored_path.resolve() == path.resolve():
            stored_path = stored_path.with_name(f"{name}.compressed.fastq.gz")  # never overwrite the input
    checker = FastqChecker(name, collect_names)
    names_hash = factory() if collect_names else None
    try:
        with ExitStack() as stack:
            hasher = stack.enter_context(ChunkHasher(factory))
            read = stack.enter_context(open_content(name, path, sniffed))
            writer = None
            if not sniffed.is_gzip:
                # Downloads are always gzip, so a plain upload is compressed in this same pass.
                writer = stack.enter_context(
                    igzip_threaded.open(
                        stored_path, "wb", compresslevel=PLAIN_UPLOAD_COMPRESS_LEVEL, threads=1
                    )
                )
            size = CHUNK_SIZE
            while chunk := read(size):
                if cancel is not None and cancel.is_set():
                    raise _Cancelled()
                hasher.update(chunk)
                if writer is not None:
                    writer.write(chunk)
                # A record longer than a chunk doubles the read size, keeping the work linear.
                size = CHUNK_SIZE if checker.feed(chunk) else max(CHUNK_SIZE, checker.pending_size)
                if names_hash is not None:
                    for block in checker.take_names():
                        names_hash.update(block)
            checker.finish()
            if names_hash is not None:
                for block in checker.take_names():
                    names_hash.update(block)
            digest = hasher.hexdigest()
    except BaseException:
        if stored_path != path:
            stored_path.unlink(missing_ok=True)
        raise
    return _SourceScan(
        records=checker.records,
        bases=checker.bases,
        digest=digest,
        names_digest=names_hash.hexdigest() if names_hash is not None else None,
        stored_path=stored_path,
    )


def _iter_names(name: str, path: Path) -> Iterator[bytes]:
    """Yields each record's normalized read name ('@' kept), for the lockstep comparison."""
    sniffed = sniff(name, path)
    checker = FastqChecker(name, collect_names=True)
    with open_content(name, path, sniffed) as read:
        size = CHUNK_SIZE
        while chunk := read(size):
            size = CHUNK_SIZE if checker.feed(chunk) else max(CHUNK_SIZE, checker.pending_size)
            for block in checker.take_names():
                yield from block.split(b"\n")[:-1]
        checker.finish()
        for block in checker.take_names():
            yield from block.split(b"\n")[:-1]

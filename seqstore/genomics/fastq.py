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
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from isal import igzip_threaded

from .errors import IngestError, show_bytes
from .htslib import how_it_ended, python_child_environment
from .results import ReadSetIngest
from .streams import CHUNK_SIZE, ChunkHasher, Sniffed, hash_factory, open_content, sniff

# IUPAC nucleotide codes in either case, plus '.' and '-' that older Illumina and some
# converters write for a no-call.
SEQUENCE_CHARACTERS = b"ACGTURYSWKMBDHVN" + b"acgturyswkmbdhvn" + b".-"
QUALITY_CHARACTERS = bytes(range(33, 127))  # Phred+33, '!' to '~'

log = logging.getLogger(__name__)

# The common case of the record checks in C (_fastqscan.c), where it was built at install;
# SEQSTORE_NATIVE_FASTQ=0 leaves every check to Python (the tests run both).
_fast: Any = None
if os.environ.get("SEQSTORE_NATIVE_FASTQ", "1") != "0":
    try:
        from . import _fastqscan as _fast  # type: ignore[attr-defined,no-redef]
    except ImportError:
        _fast = None

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
        _check_pair(sources, scans)
    else:
        scans = {"source1": _scan_source("source1", sources["source1"], factory, work_dir, False, None)}

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
        [sys.executable, "-c", _CHILD, "source2", str(sources["source2"]), family, str(work_dir)],
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
            if child.returncode:
                # Not the file's fault (a file's problems come back as an IngestError's message):
                # the read set says the reader stopped, the operator's log says why.
                ended = how_it_ended(child.returncode)
                log.warning("source2: the FASTQ scanning child ended with %s: %s", ended,
                            err.decode(errors="replace")[-4000:])
                raise IngestError(f"source2: the FASTQ reader stopped ({ended}); the file was not checked")
            report = json.loads(out)
            if "error" in report:
                raise IngestError(report["error"])
            return _SourceScan(**{**report, "stored_path": Path(report["stored_path"])})
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
    checker = _FastqChecker(name, collect_names)
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
    checker = _FastqChecker(name, collect_names=True)
    with open_content(name, path, sniffed) as read:
        size = CHUNK_SIZE
        while chunk := read(size):
            size = CHUNK_SIZE if checker.feed(chunk) else max(CHUNK_SIZE, checker.pending_size)
            for block in checker.take_names():
                yield from block.split(b"\n")[:-1]
        checker.finish()
        for block in checker.take_names():
            yield from block.split(b"\n")[:-1]


class _FastqChecker:
    """Checks and counts FASTQ records fed in arbitrary chunks.

    Four-line records are checked a block at a time. Multi-line FASTQ (sequence and quality
    wrapped over several lines, allowed by the format though rare) is detected at its first
    wrapped record, and from there on the file is read line by line: slower, but correct.
    """

    def __init__(self, name: str, collect_names: bool) -> None:
        self.name = name
        self.records = 0
        self.bases = 0
        self._rest = b""
        self._collect_names = collect_names
        self._names: list[bytes] = []
        self._wrapped: _WrappedRecords | None = None

    @property
    def pending_size(self) -> int:
        """Bytes held back because they do not yet form a whole record."""
        return len(self._rest)

    def take_names(self) -> list[bytes]:
        """Returns (and forgets) blocks of normalized names, one per line, each line ending '\\n'."""
        names, self._names = self._names, []
        return names

    def feed(self, chunk: bytes) -> bool:
        """Checks every complete record now available; returns False if none was complete."""
        buffer = self._rest + chunk if self._rest else chunk
        if self._wrapped is None and _fast is not None:
            # Plain four-line records in C; from the first record it refuses (or none left),
            # the checks below take over and say what is wrong.
            consumed, records, bases, names, stopped = _fast.scan(buffer, self._collect_names)
            self.records += records
            self.bases += bases
            if names:
                self._names.append(names)
            if not stopped:
                self._rest = buffer[consumed:]
                return consumed > 0
            buffer = buffer[consumed:]
        lines = buffer.split(b"\n")
        if self._wrapped is not None:
            # Blank lines may only end the file, so hold them back until more text follows.
            held = [lines.pop()]
            while lines and lines[-1] in (b"", b"\r"):
                held.append(lines.pop())
            self._rest = b"\n".join(reversed(held))
            self._feed_wrapped(lines)
            return True
        complete = (len(lines) - 1) // 4 * 4
        if complete == 0:
            self._rest = buffer
            return False
        self._rest = b"\n".join(lines[complete:])
        self._check(lines, complete, b"\r" in buffer)
        return True

    def finish(self) -> None:
        """Checks what remains at the end of the file; raises if the file held no records."""
        lines = self._rest.split(b"\n") if self._rest else []
        self._rest = b""
        # A missing final newline or trailing blank lines are harmless.
        while lines and lines[-1] in (b"", b"\r"):
            lines.pop()
        if self._wrapped is None and len(lines) % 4 == 0:
            if lines:
                self._check(lines, len(lines), any(line.endswith(b"\r") for line in lines))
        elif self._wrapped is None:
            record = self.records + len(lines) // 4 + 1
            raise IngestError(
                f"{self.name}: record {record:,} (line {4 * record - 3:,}) is cut short: the file ends "
                f"after {len(lines) % 4} of its 4 lines"
            )
        else:
            self._feed_wrapped(lines)
            self._wrapped.finish(self.name, self.records)
        if self.records == 0:
            raise IngestError(f"{self.name}: contains no FASTQ records")

    def _check(self, lines: list[bytes], count: int, has_cr: bool) -> None:
        if has_cr:
            # Windows line endings: compare what is between the line breaks (the ETag still
            # covers the bytes as uploaded).
            lines = [line[:-1] if line.endswith(b"\r") else line for line in lines[:count]]
        headers = lines[0:count:4]
        sequences = lines[1:count:4]
        separators = lines[2:count:4]
        qualities = lines[3:count:4]
        sequence_lengths = list(map(len, sequences))
        joined_headers = b"\n".join(headers)
        valid = (
            # Every header starts with '@' exactly when the joined lines do and each break is "\n@".
            joined_headers.startswith(b"@")
            and joined_headers.count(b"\n@") == len(headers) - 1
            # A bare "+" is by far the commonest separator and list.count of it is nearly free.
            and (
                separators.count(b"+") == len(separators)
                or all(map(bytes.startswith, separators, repeat(b"+")))
            )
            and sequence_lengths == list(map(len, qualities))
            and not b"".join(sequences).translate(None, SEQUENCE_CHARACTERS)
            and not b"".join(qualities).translate(None, QUALITY_CHARACTERS)
        )
        if not valid:
            index, line_offset, message = _first_problem(headers, sequences, separators, qualities)
            if message is not _WRAPPED:
                number = self.records + index + 1
                raise IngestError(
                    f"{self.name}: record {number:,} (line {4 * number - 3 + line_offset:,}): {message}"
                )
            # Records before the first wrapped one are fine; read the rest line by line.
            if index:
                self._check(lines, 4 * index, False)
            number = self.records + 1
            # If the wrapped reading fails within this record, the file was probably never
            # multi-line: report what the four-line reading saw.
            plain_problem = (
                f"{self.name}: record {number:,} (line {4 * number - 1:,}): expected the '+' separator line, "
                f"found {show_bytes(separators[index])}"
            )
            self._wrapped = _WrappedRecords(first_line=4 * self.records + 1, first_problem=plain_problem)
            self._feed_wrapped(lines[4 * index : count])
            return
        self.records += len(headers)
        self.bases += sum(sequence_lengths)
        if self._collect_names:
            self._add_names([header.split(None, 1)[0] for header in headers])

    def _add_names(self, names: list[bytes]) -> None:
        joined = b"\n".join(names) + b"\n"
        # Mates are named 'x/1' and 'x/2' by older tools; compare the 'x'.
        self._names.append(joined.replace(b"/1\n", b"\n").replace(b"/2\n", b"\n"))

    def _feed_wrapped(self, lines: list[bytes]) -> None:
        assert self._wrapped is not None
        names: list[bytes] = []
        records, bases = self._wrapped.feed(lines, self.name, self.records, names)
        self.records += records
        self.bases += bases
        if self._collect_names and names:
            self._add_names(names)


_WRAPPED = "wrapped"  # _first_problem's marker for a multi-line record, which is not an error


def _first_problem(
    headers: list[bytes], sequences: list[bytes], separators: list[bytes], qualities: list[bytes]
) -> tuple[int, int, str]:
    """Returns (record index, line offset within the record, message) of the first problem."""
    for index, (header, sequence, separator, quality) in enumerate(
        zip(headers, sequences, separators, qualities, strict=True)
    ):
        if not header.startswith(b"@"):
            found = "an empty line" if not header else show_bytes(header)
            return index, 0, f"expected a header line starting with '@', found {found}"
        if not separator.startswith(b"+"):
            if separator and not separator.translate(None, SEQUENCE_CHARACTERS):
                return index, 2, _WRAPPED
            return index, 2, f"expected the '+' separator line, found {show_bytes(separator)}"
        if len(sequence) != len(quality):
            return index, 3, f"sequence and quality lengths differ ({len(sequence)} vs {len(quality)})"
        problem = _sequence_problem(sequence) or _quality_problem(quality)
        if problem:
            return index, 1 if problem.startswith("illegal character") else 3, problem
    raise AssertionError("a block failed a bulk check but no record in it did")  # pragma: no cover


def _sequence_problem(sequence: bytes) -> str | None:
    illegal = sequence.translate(None, SEQUENCE_CHARACTERS)
    if illegal:
        return f"illegal character {show_bytes(illegal[:1])} in sequence (allowed: IUPAC nucleotide codes, '.', '-')"
    return None


def _quality_problem(quality: bytes) -> str | None:
    illegal = quality.translate(None, QUALITY_CHARACTERS)
    if illegal:
        return f"illegal quality character {show_bytes(illegal[:1])} (allowed: printable ASCII '!' to '~')"
    return None


class _WrappedRecords:
    """Line-by-line reader for multi-line FASTQ: sequence lines run until the '+' line, quality
    lines until they are as long as the sequence (so a quality line starting '@' is no header)."""

    def __init__(self, first_line: int, first_problem: str) -> None:
        self.line_number = first_line - 1
        self.first_problem: str | None = first_problem
        self.state = "header"  # then "sequence", then "quality"
        self.record_line = 0
        self.sequence_length = 0
        self.quality_length = 0

    def feed(self, lines: list[bytes], name: str, records_before: int, names: list[bytes]) -> tuple[int, int]:
        """Consumes whole lines; appends each finished record's first header word to ``names``;
        returns (records finished, their bases)."""
        records = bases = 0
        for raw_line in lines:
            self.line_number += 1
            line = raw_line[:-1] if raw_line.endswith(b"\r") else raw_line
            if self.state == "header":
                if not line.startswith(b"@"):
                    found = "an empty line" if not line else show_bytes(line)
                    self._fail(
                        name,
                        records_before + records,
                        f"expected a header line starting with '@', found {found}",
                    )
                names.append(line.split(None, 1)[0])
                self.record_line = self.line_number
                self.sequence_length = self.quality_length = 0
                self.state = "sequence"
            elif self.state == "sequence":
                if line.startswith(b"+"):
                    self.state = "quality"
                    continue
                problem = _sequence_problem(line)
                if problem:
                    self._fail(name, records_before + records, problem)
                self.sequence_length += len(line)
            else:
                problem = _quality_problem(line)
                if problem:
                    self._fail(name, records_before + records, problem)
                self.quality_length += len(line)
                if self.quality_length >= self.sequence_length:
                    if self.quality_length > self.sequence_length:
                        self._fail(
                            name,
                            records_before + records,
                            f"sequence and quality lengths differ ({self.sequence_length} vs {self.quality_length})",
                        )
                    records += 1
                    bases += self.sequence_length
                    self.state = "header"
                    self.first_problem = None
        return records, bases

    def finish(self, name: str, records_before: int) -> None:
        if self.state != "header":
            if self.first_problem is not None:
                raise IngestError(self.first_problem)
            number = records_before + 1
            raise IngestError(
                f"{name}: record {number:,} (line {self.record_line:,}) is cut short at the end of the file"
            )

    def _fail(self, name: str, records_before: int, message: str) -> None:
        if self.first_problem is not None:
            raise IngestError(f"{self.first_problem} (read as multi-line FASTQ: {message})")
        raise IngestError(f"{name}: record {records_before + 1:,} (line {self.line_number:,}): {message}")

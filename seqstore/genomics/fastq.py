"""FASTQ read sets: validate record structure, count reads and bases, compute ETags.

One streamed pass per source. ISA-L decompresses in its own thread, a ChunkHasher hashes in
another, and this thread checks records a whole chunk at a time with C-level bytes operations
(split, translate, map) rather than a Python loop per record; only a chunk that fails a check is
walked record by record to name the first bad one. Paired sources run in two threads.
"""

from __future__ import annotations

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
from .results import ReadSetIngest
from .streams import CHUNK_SIZE, ChunkHasher, Sniffed, hash_factory, open_content, sniff

# IUPAC nucleotide codes in either case, plus '.' and '-' that older Illumina and some
# converters write for a no-call.
SEQUENCE_CHARACTERS = b"ACGTURYSWKMBDHVN" + b"acgturyswkmbdhvn" + b".-"
QUALITY_CHARACTERS = bytes(range(33, 127))  # Phred+33, '!' to '~'

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
        scans = _scan_in_parallel(sources, factory, work_dir)
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
    sources: dict[str, Path], factory: Callable[[], Any], work_dir: Path
) -> dict[str, _SourceScan]:
    """Scans both sources at once; the first failure stops the other and is raised."""
    cancel = threading.Event()

    def scan(name: str) -> _SourceScan:
        try:
            return _scan_source(name, sources[name], factory, work_dir, True, cancel)
        except BaseException:
            cancel.set()
            raise

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-fastq") as pool:
        futures = {name: pool.submit(scan, name) for name in sources}
    failures = [f.exception() for f in futures.values()]
    # Report a real problem in source order, never the other source's cancellation.
    for failure in failures:
        if failure is not None and not isinstance(failure, _Cancelled):
            raise failure
    return {name: future.result() for name, future in futures.items()}


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
    not_fastq = bool(head) and (not head.startswith(b"@") or sniffed.describe().endswith("SAM text"))
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
    stored_path = path if sniffed.is_gzip else Path(work_dir) / f"{name}.fastq.gz"
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
    """Checks and counts four-line FASTQ records fed in arbitrary chunks."""

    def __init__(self, name: str, collect_names: bool) -> None:
        self.name = name
        self.records = 0
        self.bases = 0
        self._rest = b""
        self._collect_names = collect_names
        self._names: list[bytes] = []

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
        lines = buffer.split(b"\n")
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
        if len(lines) % 4:
            record = self.records + len(lines) // 4 + 1
            raise IngestError(
                f"{self.name}: record {record:,} (line {4 * record - 3:,}) is cut short: the file ends "
                f"after {len(lines) % 4} of its 4 lines"
            )
        if lines:
            self._check(lines, len(lines), any(line.endswith(b"\r") for line in lines))
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
            self._raise_first_problem(headers, sequences, separators, qualities)
        self.records += len(headers)
        self.bases += sum(sequence_lengths)
        if self._collect_names:
            names = b"\n".join([header.split(None, 1)[0] for header in headers]) + b"\n"
            # Mates are named 'x/1' and 'x/2' by older tools; compare the 'x'.
            self._names.append(names.replace(b"/1\n", b"\n").replace(b"/2\n", b"\n"))

    def _raise_first_problem(
        self, headers: list[bytes], sequences: list[bytes], separators: list[bytes], qualities: list[bytes]
    ) -> None:
        for index, record in enumerate(zip(headers, sequences, separators, qualities, strict=True)):
            problem = _record_problem(*record)
            if problem is not None:
                line_offset, message = problem
                number = self.records + index + 1
                raise IngestError(
                    f"{self.name}: record {number:,} (line {4 * number - 3 + line_offset:,}): {message}"
                )
        raise AssertionError("a block failed a bulk check but no record in it did")  # pragma: no cover


def _record_problem(
    header: bytes, sequence: bytes, separator: bytes, quality: bytes
) -> tuple[int, str] | None:
    """Returns (line offset within the record, message) for the first problem, or None."""
    if not header.startswith(b"@"):
        if not header:
            return 0, "expected a header line starting with '@', found an empty line"
        return 0, f"expected a header line starting with '@', found {show_bytes(header)}"
    if not separator.startswith(b"+"):
        if separator and not separator.translate(None, SEQUENCE_CHARACTERS):
            return 2, (
                "expected the '+' line but found more sequence; multi-line FASTQ (sequence wrapped over "
                "several lines) is not supported, write one line per sequence (e.g. seqtk seq)"
            )
        return 2, f"expected the '+' separator line, found {show_bytes(separator)}"
    if len(sequence) != len(quality):
        return 3, f"sequence and quality lengths differ ({len(sequence)} vs {len(quality)})"
    illegal = sequence.translate(None, SEQUENCE_CHARACTERS)
    if illegal:
        return (
            1,
            f"illegal character {show_bytes(illegal[:1])} in sequence (allowed: IUPAC nucleotide codes, '.', '-')",
        )
    illegal = quality.translate(None, QUALITY_CHARACTERS)
    if illegal:
        return 3, f"illegal quality character {show_bytes(illegal[:1])} (allowed: printable ASCII '!' to '~')"
    return None

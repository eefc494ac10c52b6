"""BAM, uBAM and CRAM read sets: check the type, count reads and bases, compute the ETag, build
the index.

The ETag covers the records exactly as `samtools view FILE` prints them. Where the C helper was
built (``native.available()``), one child process decodes each record once and gives the SAM
text (hashed beside the decoding), the counts and the BAI (a CRAM's CRAI comes from its
container headers). Otherwise samtools (pysam's, in a child process) writes that text into a
pipe; this thread reads it in 1 MiB chunks, a ChunkHasher hashes the record bytes beside it, and
the same text gives the counts (FLAG and SEQ columns); the BAI/CRAI is built by a second child at
the same time. Both paths give the same answers and the same error messages (the tests run every
case on both).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import native
from .errors import IngestError, show_bytes
from .htslib import child_environment, describe_failure, read_log, run_samtools, start_samtools
from .results import ReadSetIngest
from .streams import BAM_MAGIC, BGZF_EOF, CHUNK_SIZE, CRAM3_EOF, ChunkHasher, Sniffed, hash_factory, sniff

log = logging.getLogger("seqstore.ingest")

FILE_TYPES = ("BAM", "UBAM", "CRAM")
SECONDARY_OR_SUPPLEMENTARY = 0x100 | 0x800
UNMAPPED = 0x4
_F_SETPIPE_SZ = 1031  # Linux fcntl: a 1 MiB pipe means fewer wake-ups per chunk


def ingest_alignment(
    source1: Path, file_type: str, family: str, work_dir: Path, reference_fasta: Path | None = None
) -> ReadSetIngest:
    """Validates a BAM, uBAM or CRAM source and returns its read set metadata.

    Builds a BAI (BAM) or CRAI (CRAM) in ``work_dir``. A CRAM is decoded with
    ``reference_fasta``; a BAM's @SQ lines are checked against it when given. Raises IngestError
    when the content is not the declared type or cannot be read.
    """
    if file_type not in FILE_TYPES:
        raise ValueError(f"file_type must be one of {FILE_TYPES}, not {file_type!r}")
    hash_factory(family)  # an unknown family is a ValueError here, before any work
    name = "source1"
    source1 = Path(source1)
    work_dir = Path(work_dir)
    _require_declared_type(name, file_type, source1, sniff(name, source1))

    reference_lengths: dict[str, int] | None = None
    cram_reference: Path | None = None
    if file_type == "CRAM" and reference_fasta is None:
        raise IngestError(
            f"{name}: a CRAM needs its reference to be decoded; give the referenceArn of a reference "
            "holding the sequences named in its @SQ lines"
        )
    if reference_fasta is not None and file_type != "UBAM":
        indexed_reference = _indexed_reference(Path(reference_fasta), work_dir)
        reference_lengths = _read_fai(indexed_reference.with_name(indexed_reference.name + ".fai"))
        if file_type == "CRAM":
            cram_reference = indexed_reference

    index_path = None
    if file_type != "UBAM":
        index_path = work_dir / (f"{name}.bam.bai" if file_type == "BAM" else f"{name}.cram.crai")

    read_once = _scan if native.available() else _view_and_index
    read_count, base_count, digest = read_once(
        _Source(name, file_type, source1, family, work_dir, reference_lengths, index_path, cram_reference)
    )
    return ReadSetIngest(
        read_count=read_count,
        base_count=base_count,
        etags={name: digest},
        etag_algorithm=f"{'CRAM' if file_type == 'CRAM' else 'BAM'}_{family}",
        alignment="UNALIGNED" if file_type == "UBAM" else "ALIGNED",
        index_path=index_path,
        stored_paths={name: source1},
    )


@dataclass(frozen=True)
class _Source:
    """What either way of reading an alignment file needs to know about it."""

    name: str
    file_type: str
    path: Path
    family: str
    work_dir: Path
    reference_lengths: dict[str, int] | None
    index_path: Path | None  # the BAI/CRAI to write (None for a uBAM)
    cram_reference: Path | None  # the indexed FASTA a CRAM is decoded with

    @property
    def label(self) -> str:
        """How an error message names the file: `source1 (BAM)`."""
        return f"{self.name} ({self.file_type})"


def _view_and_index(source: _Source) -> tuple[int, int, str]:
    """Reads a BAM, uBAM or CRAM through samtools children (view for the text, index for the
    BAI/CRAI); returns (reads, bases, digest)."""
    view_args = ["--no-PG", "-h"]
    if source.cram_reference is not None:
        view_args += ["-T", str(source.cram_reference)]
    reader = _SamTextReader(
        source.name, source.file_type, hash_factory(source.family), source.reference_lengths
    )
    view_log = source.work_dir / f"{source.name}.view.log"
    index_log = source.work_dir / f"{source.name}.index.log"
    view = start_samtools(
        "view", [*view_args, str(source.path)], source.work_dir, view_log, stdout=subprocess.PIPE
    )
    indexer = None
    if source.index_path is not None:
        indexer = start_samtools(
            "index", [str(source.path), str(source.index_path)], source.work_dir, index_log
        )
    try:
        assert view.stdout is not None
        with contextlib.suppress(OSError):
            fcntl.fcntl(view.stdout.fileno(), _F_SETPIPE_SZ, CHUNK_SIZE)
        with reader:
            while chunk := view.stdout.read(CHUNK_SIZE):
                reader.feed(chunk)
                if indexer is not None and indexer.poll():
                    break  # indexing failed (e.g. unsorted input): no need to read further
            if indexer is not None and indexer.poll():
                raise IngestError(f"{source.label}: {describe_failure(read_log(index_log))}")
            view_status = view.wait()
            if indexer is not None and indexer.wait():
                raise IngestError(f"{source.label}: {describe_failure(read_log(index_log))}")
            view_text = read_log(view_log)
            if view_status or "EOF marker is absent" in view_text:
                raise IngestError(f"{source.label}: {describe_failure(view_text)}")
            reader.finish()
            digest = reader.hexdigest()
    except BaseException:
        for child in (view, indexer):
            if child is not None and child.poll() is None:
                child.kill()
                child.wait()
        if source.index_path is not None:
            source.index_path.unlink(missing_ok=True)
        raise
    finally:
        if view.stdout is not None:
            view.stdout.close()
        view_log.unlink(missing_ok=True)
        index_log.unlink(missing_ok=True)

    return reader.reads, reader.bases, digest


def _scan(source: _Source) -> tuple[int, int, str]:
    """Reads a BAM, uBAM or CRAM once with the C helper; returns (reads, bases, digest)."""
    log_path = source.work_dir / f"{source.name}.scan.log"
    try:
        try:
            scan = native.scan(
                source.path,
                source.family,
                source.index_path,
                log_path,
                child_environment(source.work_dir),
                unmapped_only=source.file_type == "UBAM",
                cram_reference=source.cram_reference,
            )
        except native.ScanFailure as failure:
            if failure.header is not None:
                _check_header(source, failure.header)
            raise IngestError(_scan_failure_message(source, failure)) from None
        _check_header(source, scan.header)
        if "EOF marker is absent" in scan.log:
            raise IngestError(f"{source.label}: {describe_failure(scan.log)}")
        if scan.records == 0:
            raise IngestError(f"{source.name}: {source.file_type} contains no reads")
    except BaseException:
        if source.index_path is not None:
            source.index_path.unlink(missing_ok=True)
        raise
    finally:
        log_path.unlink(missing_ok=True)
    return scan.reads, scan.bases, scan.digest


def _check_header(source: _Source, header: str) -> None:
    if source.reference_lengths is None:
        return
    for line in header.encode().splitlines():
        check_header_line(source.name, source.file_type, line, source.reference_lengths)


def _scan_failure_message(source: _Source, failure: native.ScanFailure) -> str:
    if failure.code == "mapped":
        record, qname, contig, position, flag = failure.details
        assert isinstance(record, int) and isinstance(qname, str) and isinstance(position, int)
        return (
            f"{source.name}: declared UBAM but record {record:,} ({show_bytes(qname.encode())}) is aligned to "
            f"{contig}:{position:,} (flag {flag}); upload aligned reads as BAM or CRAM"
        )
    if failure.code == "crash":
        # htslib's own errors say what is wrong with the file; anything else (a crash, a Python
        # error in the child) is for the operator's log, not the read set's statusMessage.
        log.warning(
            "%s: the scanning child ended with %s: %s", source.label, failure.details[0], failure.log[-4000:]
        )
        if "[E::" not in failure.log:
            return f"{source.label}: htslib could not read it (the reader stopped: {failure.details[0]})"
    return f"{source.label}: {describe_failure(failure.log)}"


def _require_declared_type(name: str, file_type: str, path: Path, sniffed: Sniffed) -> None:
    """Raises unless the magic bytes say the file is the declared type."""
    if file_type == "CRAM":
        if sniffed.container != "cram":
            raise IngestError(f"{name}: declared CRAM but this looks like {sniffed.describe()}")
        if sniffed.head[4:5] == b"\x03":  # major version 3: a fixed end-of-file container
            with open(path, "rb") as handle:
                handle.seek(-min(len(CRAM3_EOF), os.fstat(handle.fileno()).st_size), 2)
                if handle.read() != CRAM3_EOF:
                    raise IngestError(
                        f"{name}: CRAM is truncated (the CRAM end-of-file container is missing); upload it again"
                    )
        return
    if sniffed.container == "gzip" and sniffed.head.startswith(BAM_MAGIC):
        raise IngestError(
            f"{name}: this BAM is compressed with plain gzip, not BGZF; rewrite it with samtools view -b"
        )
    if sniffed.container != "bgzf" or not sniffed.head.startswith(BAM_MAGIC):
        raise IngestError(f"{name}: declared {file_type} but this looks like {sniffed.describe()}")
    with open(path, "rb") as handle:
        handle.seek(-len(BGZF_EOF), 2)
        if handle.read() != BGZF_EOF:
            raise IngestError(
                f"{name}: {file_type} is truncated (the BGZF end-of-file marker is missing); upload it again"
            )


def _indexed_reference(reference_fasta: Path, work_dir: Path) -> Path:
    """Returns a path to the reference with a .fai beside it, indexing into ``work_dir`` if needed."""
    if reference_fasta.with_name(reference_fasta.name + ".fai").exists():
        return reference_fasta
    # The reference may live somewhere read-only: index a symlink to it instead of copying it.
    link = work_dir / "reference.fa"
    if not link.exists():
        link.symlink_to(reference_fasta.resolve())
    log = work_dir / "reference.faidx.log"
    status, text = run_samtools("faidx", [str(link)], work_dir, log)
    log.unlink(missing_ok=True)
    if status:
        raise IngestError(f"reference: cannot index the reference FASTA: {describe_failure(text)}")
    return link


def _read_fai(fai_path: Path) -> dict[str, int]:
    """Returns {sequence name: length} from a .fai file."""
    lengths = {}
    with open(fai_path, "rb") as fai:
        for line in fai:
            fields = line.split(b"\t", 2)
            lengths[fields[0].decode("utf-8", "replace")] = int(fields[1])
    return lengths


def check_header_line(
    name: str, file_type: str, line: bytes, reference_lengths: dict[str, int] | None
) -> None:
    """Raises unless an @SQ header line names a contig of the reference with its length."""
    if not line.startswith(b"@SQ\t") or reference_lengths is None:
        return
    fields = dict(field.split(b":", 1) for field in line.split(b"\t")[1:] if b":" in field)
    contig = fields.get(b"SN", b"").decode("utf-8", "replace")
    length = int(fields.get(b"LN", b"0"))
    expected = reference_lengths.get(contig)
    if expected is None:
        raise IngestError(
            f"{name}: {file_type} header names contig {contig!r} (length {length:,}) "
            "which is not in the reference"
        )
    # htslib decodes a CRAM by name and per-slice MD5 and only warns about @SQ lengths;
    # htsjdk writes CRAMs whose LN differs from their reference (xx#large_aux_java.cram),
    # so the length is enforced for BAM only.
    if expected != length and file_type != "CRAM":
        raise IngestError(
            f"{name}: contig {contig!r} has length {length:,} in the {file_type} header "
            f"but {expected:,} in the reference"
        )


class _SamTextReader:
    """Reads `samtools view -h` text: checks the @SQ header, hashes the records (the ETag text,
    which excludes the header), counts primary reads and their bases."""

    def __init__(
        self, name: str, file_type: str, factory: Callable[[], Any], reference_lengths: dict[str, int] | None
    ) -> None:
        self.name = name
        self.file_type = file_type
        self.reference_lengths = reference_lengths
        self.records = 0  # every record, for error messages
        self.reads = 0  # neither secondary nor supplementary
        self.bases = 0
        self._hasher = ChunkHasher(factory)
        self._in_header = True
        self._header_rest = b""
        self._rest = b""

    def __enter__(self) -> _SamTextReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._hasher.__exit__(*exc_info)

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()

    def feed(self, chunk: bytes) -> None:
        if self._in_header:
            chunk = self._feed_header(chunk)
            if not chunk:
                return
        self._hasher.update(chunk)
        buffer = self._rest + chunk if self._rest else chunk
        lines = buffer.split(b"\n")
        self._rest = lines.pop()
        self._count(lines)

    def finish(self) -> None:
        if self._in_header:
            self._end_header(self._header_rest)
        if self._rest:
            # samtools ends every line with '\n'; a partial last line means the output was cut.
            raise IngestError(f"{self.name}: {self.file_type} output ended in the middle of a record")
        if self.records == 0:
            raise IngestError(f"{self.name}: {self.file_type} contains no reads")

    def _feed_header(self, chunk: bytes) -> bytes:
        """Consumes header lines; returns the record bytes that follow them in ``chunk``."""
        buffer = self._header_rest + chunk if self._header_rest else chunk
        position = 0
        while (
            position < len(buffer) and buffer[position] == 0x40
        ):  # '@': header line (QNAMEs cannot start with '@')
            end = buffer.find(b"\n", position)
            if end < 0:
                self._header_rest = buffer[position:]
                return b""
            self._header_line(buffer[position:end])
            position = end + 1
        if position == len(buffer):
            self._header_rest = b""
            return b""
        self._end_header(b"")
        return buffer[position:]

    def _header_line(self, line: bytes) -> None:
        check_header_line(self.name, self.file_type, line, self.reference_lengths)

    def _end_header(self, rest: bytes) -> None:
        if rest:
            raise IngestError(f"{self.name}: {self.file_type} header is cut short")
        self._in_header = False
        self._header_rest = b""

    def _count(self, lines: list[bytes]) -> None:
        reads = bases = 0
        if self.file_type == "UBAM":
            for index, line in enumerate(lines):
                fields = line.split(b"\t", 10)
                flag = int(fields[1])
                if not flag & UNMAPPED:
                    raise IngestError(
                        f"{self.name}: declared UBAM but record {self.records + index + 1:,} "
                        f"({show_bytes(fields[0])}) is aligned to {fields[2].decode('utf-8', 'replace')}:"
                        f"{int(fields[3]):,} (flag {flag}); upload aligned reads as BAM or CRAM"
                    )
                if not flag & SECONDARY_OR_SUPPLEMENTARY:
                    reads += 1
                    if fields[9] != b"*":
                        bases += len(fields[9])
        else:
            for line in lines:
                fields = line.split(b"\t", 10)
                if not int(fields[1]) & SECONDARY_OR_SUPPLEMENTARY:
                    reads += 1
                    if fields[9] != b"*":
                        bases += len(fields[9])
        self.records += len(lines)
        self.reads += reads
        self.bases += bases

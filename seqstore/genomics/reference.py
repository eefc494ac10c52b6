"""Reference FASTA import: validate, store plain, compute md5, build the .fai.

One streamed pass: ISA-L decompresses (gzip/BGZF input) in its own thread, a ChunkHasher computes
the md5 of the plain FASTA in another, and this thread checks whole line-aligned blocks at a time
(header lines are rare; the sequence between them is checked with one bytes.translate).
"""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from pathlib import Path

from .errors import IngestError, show_bytes
from .htslib import describe_failure, run_samtools
from .results import ReferenceIngest
from .streams import CHUNK_SIZE, ChunkHasher, Sniffed, open_content, sniff

# IUPAC nucleotide codes, '*' and '-', either case.
FASTA_CHARACTERS = b"ACGTURYSWKMBDHVN*-" + b"acgturyswkmbdhvn"
_SEQUENCE_BLOCK_CHARACTERS = FASTA_CHARACTERS + b"\n\r"

SOURCE_NAME = "reference"


def ingest_reference(source: Path, work_dir: Path) -> ReferenceIngest:
    """Validates a plain, gzip or BGZF FASTA and returns what to store for it.

    A compressed input is decompressed into ``work_dir/reference.fasta``; a plain input is
    stored as it is. The .fai is written into ``work_dir``. Raises IngestError for anything that
    is not a well-formed nucleotide FASTA.
    """
    source = Path(source)
    work_dir = Path(work_dir)
    sniffed = sniff(SOURCE_NAME, source)
    _require_fasta(sniffed)

    plain_name = "reference.fasta"
    if (work_dir / plain_name).resolve() == source.resolve():
        plain_name = "reference.plain.fasta"  # never write over (or unlink) the input itself
    if sniffed.is_gzip:
        fasta_path = work_dir / plain_name
        index_target = fasta_path
    else:
        fasta_path = source
        index_target = work_dir / plain_name
        if source.parent.resolve() == work_dir.resolve():
            index_target = source
        else:
            # faidx writes NAME.fai beside NAME; a symlink puts it in work_dir without copying.
            index_target.unlink(missing_ok=True)
            index_target.symlink_to(source.resolve())
    fai_path = index_target.with_name(index_target.name + ".fai")

    checker = _FastaChecker()
    try:
        with ExitStack() as stack:
            hasher = stack.enter_context(ChunkHasher(hashlib.md5))
            read = stack.enter_context(open_content(SOURCE_NAME, source, sniffed))
            output = stack.enter_context(open(fasta_path, "wb")) if sniffed.is_gzip else None
            while chunk := read(CHUNK_SIZE):
                hasher.update(chunk)
                if output is not None:
                    output.write(chunk)
                checker.feed(chunk)
            checker.finish()
            md5 = hasher.hexdigest()
        log = work_dir / "reference.faidx.log"
        status, log_text = run_samtools("faidx", [str(index_target)], work_dir, log)
        log.unlink(missing_ok=True)
        if status:
            raise IngestError(f"{SOURCE_NAME}: the FASTA cannot be indexed: {describe_failure(log_text)}")
    except BaseException:
        if sniffed.is_gzip:
            fasta_path.unlink(missing_ok=True)
        elif index_target.is_symlink():
            index_target.unlink()
        fai_path.unlink(missing_ok=True)
        raise

    return ReferenceIngest(md5=md5, fasta_path=fasta_path, fai_path=fai_path, sequences=_read_fai(fai_path))


def _require_fasta(sniffed: Sniffed) -> None:
    if sniffed.container == "empty":
        raise IngestError(f"{SOURCE_NAME}: the file is empty (0 bytes); expected FASTA")
    if sniffed.container not in ("gzip", "bgzf", "plain") or (
        sniffed.head and not sniffed.head.startswith(b">")
    ):
        raise IngestError(
            f"{SOURCE_NAME}: this looks like {sniffed.describe()}, not FASTA (which starts with '>')"
        )


def _read_fai(fai_path: Path) -> list[tuple[str, int]]:
    """Returns (name, length) for each sequence of a .fai, in file order."""
    with open(fai_path, "rb") as fai:
        return [
            (fields[0].decode("utf-8", "replace"), int(fields[1]))
            for fields in (line.split(b"\t", 2) for line in fai)
        ]


class _FastaChecker:
    """Checks FASTA fed in arbitrary chunks: named, unique, non-empty, legal-character sequences."""

    def __init__(self) -> None:
        self.sequence_count = 0
        self._names: set[bytes] = set()
        self._current: bytes | None = None
        self._current_length = 0
        self._rest = b""

    def feed(self, chunk: bytes) -> None:
        buffer = self._rest + chunk if self._rest else chunk
        cut = buffer.rfind(b"\n") + 1
        self._rest = buffer[cut:]
        if cut:
            self._block(buffer[:cut] if cut < len(buffer) else buffer)

    def finish(self) -> None:
        if self._rest:
            self._block(self._rest + b"\n")
            self._rest = b""
        self._end_sequence()
        if self.sequence_count == 0:
            raise IngestError(f"{SOURCE_NAME}: contains no sequences")

    def _block(self, block: bytes) -> None:
        """Checks whole lines: header lines one by one, the sequence lines between them in bulk."""
        position = 0
        size = len(block)
        while position < size:
            if block[position] == 0x3E:  # '>'
                end = block.index(b"\n", position)
                self._header(block[position + 1 : end].rstrip(b"\r"))
                position = end + 1
            else:
                following_header = block.find(b"\n>", position)
                end = size if following_header < 0 else following_header + 1
                self._sequence(block[position:end] if position or end < size else block)
                position = end

    def _header(self, header: bytes) -> None:
        self._end_sequence()
        # The name is the text right after '>' up to the first white space (as faidx reads it).
        words = header.split(None, 1)
        if not words or header[:1].isspace():
            raise IngestError(
                f"{SOURCE_NAME}: sequence {self.sequence_count + 1:,} has a '>' line without a name"
            )
        name = words[0]
        if name in self._names:
            raise IngestError(f"{SOURCE_NAME}: sequence name {show_bytes(name)} is used more than once")
        self._names.add(name)
        self._current = name
        self._current_length = 0
        self.sequence_count += 1

    def _sequence(self, lines: bytes) -> None:
        illegal = lines.translate(None, _SEQUENCE_BLOCK_CHARACTERS)
        if illegal:
            offset = lines.index(illegal[:1])
            line_start = lines.rfind(b"\n", 0, offset) + 1
            position = self._current_length + len(lines[:offset].translate(None, b"\n\r")) + 1
            context = lines[line_start : lines.find(b"\n", offset)].rstrip(b"\r")
            raise IngestError(
                f"{SOURCE_NAME}: sequence {show_bytes(self._current or b'')} has illegal character "
                f"{show_bytes(illegal[:1])} at base {position:,} (line {show_bytes(context, 30)}); allowed are "
                "IUPAC nucleotide codes, '*' and '-'"
            )
        newlines = lines.count(b"\n") + (lines.count(b"\r") if b"\r" in lines else 0)
        self._current_length += len(lines) - newlines

    def _end_sequence(self) -> None:
        if self._current is not None and self._current_length == 0:
            raise IngestError(f"{SOURCE_NAME}: sequence {show_bytes(self._current)} is empty")
        self._current = None

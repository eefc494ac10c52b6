"""FASTQ records checked and counted as chunks of a source arrive: the block-at-a-time checks
of four-line records (in C where _fastqscan was built), the record-by-record walk that names the
first bad record, and the slower path for multi-line FASTQ."""

from __future__ import annotations

from itertools import repeat
from typing import Any

from .. import native
from .errors import IngestError, show_bytes

# IUPAC nucleotide codes in either case, plus '.' and '-' that older Illumina and some
# converters write for a no-call.
SEQUENCE_CHARACTERS = b"ACGTURYSWKMBDHVN" + b"acgturyswkmbdhvn" + b".-"
QUALITY_CHARACTERS = bytes(range(33, 127))  # Phred+33, '!' to '~'


def fast_checks() -> Any:
    """The common case of the record checks in C (_fastqscan.c), where it was built at install;
    None where it was not or SEQSTORE_NATIVE_FASTQ=0 leaves every check to Python (the tests
    run both)."""
    return native.helper("fastq")


class FastqChecker:
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
        self._fast = fast_checks()

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
        if self._wrapped is None and self._fast is not None:
            # Plain four-line records in C; from the first record it refuses (or none left),
            # the checks below take over and say what is wrong.
            consumed, records, bases, names, stopped = self._fast.scan(buffer, self._collect_names)
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

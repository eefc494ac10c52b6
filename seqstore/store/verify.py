"""Verification (scrub): re-read every stored file of ACTIVE/ARCHIVED read sets and ACTIVE
references and check it against the database: that its blob exists, its length, and the MD5 of
its bytes. The MD5 is recorded when ingestion or a reference import stores the file (the `md5`
column); a file stored before that column existed has it recorded by its first verification, and
every later run compares. `seqstore verify` (seqstore/cli_commands.py) and the worker's background
scrub (seqstore/jobs/scrub.py, its state in store/scrub.py) check each subject with the same
`Verifier.check`. A deep check (`deep`, given by the caller: it needs the
genomics readers, which this layer does not import) recomputes what ingestion computed from the
bytes: the HealthOmics ETags and counts of a read set, the MD5 of a reference's sequences."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ..blobs import BlobStore
from ..db import schema as t
from ..db.engine import Database
from .read_set_rows import archive_key

READ_CHUNK = 1024 * 1024
VERIFIED_READ_SET_STATUSES = ("ACTIVE", "ARCHIVED")
KINDS = ("read set", "reference")


@dataclass
class Subject:
    """A read set or a reference and its stored files: {file: (blob key, recorded length, md5)}."""

    kind: str  # "read set" or "reference"
    id: str
    store_id: str
    row: Any  # its row of read_sets or references
    files: dict[str, tuple[str, int, str | None]] = field(default_factory=dict)

    def name(self) -> str:
        store = "sequence store" if self.kind == "read set" else "reference store"
        return f"{self.kind} {self.id} ({store} {self.store_id})"


@dataclass(frozen=True)
class Finding:
    subject: Subject
    file: str | None  # None: about the whole read set or reference
    problem: str

    def line(self) -> str:
        where = f" {self.file}" if self.file else ""
        return f"{self.subject.name()}{where}: {self.problem}"


@dataclass
class Summary:
    read_sets: int = 0
    references: int = 0
    files: int = 0
    bytes: int = 0
    recorded: int = 0  # files whose MD5 was recorded by this run (not verified before)
    problems: int = 0

    def line(self) -> str:
        verdict = f"{self.problems} problem{'s' if self.problems != 1 else ''}" if self.problems else "no problems"
        return (
            f"verified {self.read_sets} read sets and {self.references} references: {self.files} files, "
            f"{self.bytes} bytes; {self.recorded} checksums recorded for the first time; {verdict}"
        )


# A deep check: (the subject, {file: local path of its verified bytes}) -> the problems found.
DeepCheck = Callable[[Subject, dict[str, Path]], list[str]]
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class Throttle:
    """Bounds reads to `rate` bytes a second (None or 0: no bound): `consume(n)`, after n bytes
    were read, sleeps as long as the reads are ahead of the rate. Time spent not reading (between
    subjects, waiting for jobs) is saved up for at most `burst` seconds' worth of bytes."""

    def __init__(
        self, rate: float | None, *, burst: float = 1.0, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.burst, self.clock, self.sleep = rate, burst, clock, sleep
        self._start = clock()
        self._done = 0

    def consume(self, count: int) -> None:
        if not self.rate:
            return
        behind = self.clock() - self._start - self._done / self.rate
        if behind > self.burst:  # idle for a while: keep only `burst` seconds of credit
            self._start += behind - self.burst
        self._done += count
        ahead = self._done / self.rate - (self.clock() - self._start)
        if ahead > 0:
            self.sleep(ahead)


class Verifier:
    """Verifies what `subjects()` (or `page()`) selects, a subject at a time (`check`); `rate`
    bounds the bytes read per second (None: no bound)."""

    def __init__(
        self, db: Database, blobs: BlobStore, *, work_dir: Path, rate: float | None = None,
        deep: DeepCheck | None = None, progress: Progress | None = None,
    ) -> None:
        self.db, self.blobs, self.work_dir = db, blobs, work_dir
        self.rate, self.deep, self.progress = rate, deep, progress
        self.summary = Summary()
        self.throttle = Throttle(rate)
        self._total = 0

    def subjects(
        self, *, sequence_store_id: str | None = None, reference_store_id: str | None = None,
        read_set_id: str | None = None,
    ) -> list[Subject]:
        """The read sets and references to verify; a read set filter leaves references out, a
        reference store filter leaves read sets out."""
        found: list[Subject] = []
        with self.db.read() as connection:
            if reference_store_id is None:
                query = _query("read set")
                if sequence_store_id is not None:
                    query = query.where(t.read_sets.c.sequence_store_id == sequence_store_id)
                if read_set_id is not None:
                    query = query.where(t.read_sets.c.id == read_set_id)
                found += _grouped("read set", connection.execute(query))
            if sequence_store_id is None and read_set_id is None:
                query = _query("reference")
                if reference_store_id is not None:
                    query = query.where(t.references.c.reference_store_id == reference_store_id)
                found += _grouped("reference", connection.execute(query))
        return found

    def page(self, kind: str, after_seq: int, limit: int) -> list[Subject]:
        """Up to `limit` subjects of `kind` ("read set" or "reference") to verify, in `seq` order
        after `after_seq` (a subject's `row.seq`): the scrub walks them a page at a time."""
        table = _TABLES[kind][0]
        with self.db.read() as connection:
            last = connection.execute(
                select(table.c.seq).where(_verified(kind), table.c.seq > after_seq)
                .order_by(table.c.seq).limit(1).offset(limit - 1)
            ).scalar()
            query = _query(kind).where(table.c.seq > after_seq)
            if last is not None:
                query = query.where(table.c.seq <= last)
            return _grouped(kind, connection.execute(query))

    def reload(self, subject: Subject) -> Subject | None:
        """The subject as the database has it now; None when it is no longer verified (deleted,
        being activated)."""
        table = _TABLES[subject.kind][0]
        with self.db.read() as connection:
            found = _grouped(subject.kind, connection.execute(_query(subject.kind).where(table.c.id == subject.id)))
        return found[0] if found else None

    def run(self, subjects: list[Subject]) -> Iterator[Finding]:
        """Verify each subject, yielding its problems as they are found; `summary` counts."""
        self._total = sum(length for subject in subjects for _, length, _ in subject.files.values())
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for subject in subjects:
            yield from self.check(subject)

    def check(self, subject: Subject) -> Iterator[Finding]:
        """Verify one subject's files (and run the deep check on them), yielding its problems;
        `summary` counts them. A read set's MD5 not recorded yet is recorded now."""
        if subject.kind == "read set":
            self.summary.read_sets += 1
        else:
            self.summary.references += 1
        for finding in self._check(subject):
            self.summary.problems += 1
            yield finding

    def _check(self, subject: Subject) -> Iterator[Finding]:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir) as scratch:
            good: dict[str, Path] = {}
            for file, (key, length, md5) in subject.files.items():
                self.summary.files += 1
                problem = self._check_file(subject, file, key, length, md5, Path(scratch), good)
                if problem is not None:
                    yield Finding(subject, file, problem)
            if self.deep is not None and len(good) == len(subject.files):
                for problem in self.deep(subject, good):
                    yield Finding(subject, None, problem)

    def _check_file(
        self, subject: Subject, file: str, key: str, length: int, md5: str | None, scratch: Path,
        good: dict[str, Path],
    ) -> str | None:
        if subject.kind == "read set" and subject.row.status == "ARCHIVED":
            # Archiving marks the read set, then moves its files to the archive prefix: either key.
            cold = archive_key(key)
            key = cold if self.blobs.exists(cold) else key
        if not self.blobs.exists(key):
            return f"blob {key} is missing"
        size = self.blobs.size(key)
        if size != length:
            return f"blob {key} has {size} bytes, the database records {length}"
        with self.blobs.local_file(key, scratch) as path:
            digest, read = self._md5(path)
            if self.deep is not None:
                # The deep check reads the same bytes after this `with`: keep them (a link or
                # a copy of the local file; the S3 store's download is in `scratch` already).
                kept = scratch / f"{file}.verified"
                if not kept.exists():
                    _link_or_copy(path, kept)
                good[file] = kept
            else:
                good[file] = path
        if read != length:
            return f"blob {key} ended after {read} bytes, the database records {length}"
        if md5 is None:
            self._record_md5(subject, file, digest)
            self.summary.recorded += 1
            return None
        if digest != md5:
            return f"blob {key}: the MD5 of its bytes is {digest}, recorded {md5} (the bytes changed)"
        return None

    def _md5(self, path: Path) -> tuple[str, int]:
        digest = hashlib.md5(usedforsecurity=False)
        read = 0
        with open(path, "rb") as f:
            while chunk := f.read(READ_CHUNK):
                digest.update(chunk)
                read += len(chunk)
                self.summary.bytes += len(chunk)
                self.throttle.consume(len(chunk))
                if self.progress is not None:
                    self.progress(self.summary.bytes, self._total)
        return digest.hexdigest(), read

    def _record_md5(self, subject: Subject, file: str, md5: str) -> None:
        _, table, owner, _ = _TABLES[subject.kind]
        with self.db.write() as connection:
            connection.execute(
                update(table).where(owner == subject.id, table.c.file == file, table.c.md5.is_(None))
                .values(md5=md5)
            )


# Per kind: the subject table, its file table, the file table's column naming the subject, the
# subject's store column.
_TABLES: dict[str, tuple[Any, Any, Any, str]] = {
    "read set": (t.read_sets, t.read_set_files, t.read_set_files.c.read_set_id, "sequence_store_id"),
    "reference": (t.references, t.reference_files, t.reference_files.c.reference_id, "reference_store_id"),
}


def _verified(kind: str) -> Any:
    """The condition on a subject's row that it is verified: its files are stored."""
    if kind == "read set":
        return t.read_sets.c.status.in_(VERIFIED_READ_SET_STATUSES)
    return t.references.c.status == "ACTIVE"


def _query(kind: str) -> Any:
    """A subject's row with each of its files', in `seq` and file order."""
    table, files, owner, _ = _TABLES[kind]
    return (
        select(table, *_file_columns(files)).join(files, owner == table.c.id)
        .where(_verified(kind)).order_by(table.c.seq, files.c.file)
    )


def _grouped(kind: str, rows: Any) -> list[Subject]:
    store_column = _TABLES[kind][3]
    subjects: dict[str, Subject] = {}
    for row in rows:
        subject = subjects.get(row.id)
        if subject is None:
            subject = subjects[row.id] = Subject(kind, row.id, getattr(row, store_column), row)
        subject.files[row.f_file] = (row.f_blob_key, row.f_length, row.f_md5)
    return list(subjects.values())


def _file_columns(table: Any) -> tuple[Any, ...]:
    """A file row's columns, named apart from those of its read set or reference (which has an
    `md5` of its own)."""
    c = table.c
    return c.file.label("f_file"), c.blob_key.label("f_blob_key"), c.content_length.label("f_length"), \
        c.md5.label("f_md5")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)

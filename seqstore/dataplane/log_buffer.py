"""Batched delivery of access log records (docs/s3.md, "Access logs"): records wait in memory and
are written as one object per log location every `flush_seconds`, as soon as `flush_records`
are waiting, and at shutdown. The objects are named as S3 names its log files,
`{prefix}YYYY-mm-DD-HH-MM-SS-{UniqueString}`, and written through the destination `s3://` URIs
of exports lead to (a local buckets directory or an S3-compatible endpoint). A failed write logs
one warning and drops its records; a full buffer drops new records and says how many. Nothing
here ever reaches the request that made the record."""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger("seqstore.s3")

FLUSH_RECORDS = 1000  # a batch this large is written at once, before the period ends
MAX_RECORDS = 100_000  # records waiting beyond this are dropped (a destination down for long)


class Destination(Protocol):
    """Where `s3://` URIs lead (jobs/objects.py's ObjectStore is one)."""

    def put(self, uri: str, source: Path) -> None: ...


def object_uri(location: str, moment: datetime) -> str:
    """The URI of a new log object under `location` (`s3://bucket/` or `s3://bucket/prefix/`)."""
    prefix = location if location.endswith("/") else location + "/"
    return f"{prefix}{moment.strftime('%Y-%m-%d-%H-%M-%S')}-{secrets.token_hex(8).upper()}"


class LogBuffer:
    def __init__(
        self,
        destination: Callable[[], Destination],
        work_dir: Path,
        flush_seconds: float,
        flush_records: int = FLUSH_RECORDS,
        max_records: int = MAX_RECORDS,
    ) -> None:
        self._destination_factory = destination  # called on the first write (no S3 client before)
        self._destination: Destination | None = None
        self.work_dir = work_dir
        self.flush_seconds = flush_seconds
        self.flush_records = flush_records
        self.max_records = max_records
        self._lock = threading.Lock()
        self._waiting: list[tuple[str, str]] = []  # (location, record line)
        self._dropped = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def add(self, location: str, line: str) -> None:
        """Queue a record for `location` (cheap: no I/O on the caller's side)."""
        with self._lock:
            if self._stopping:
                return
            if len(self._waiting) >= self.max_records:
                self._dropped += 1
                return
            self._waiting.append((location, line))
            if len(self._waiting) >= self.flush_records:
                self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="s3-access-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()
            with self._lock:
                if self._stopping:
                    return

    def flush(self) -> None:
        """Write what is waiting: one object per location."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
            dropped, self._dropped = self._dropped, 0
        if dropped:
            log.warning(
                "s3 access log: %d records dropped (more than %d were waiting)", dropped, self.max_records
            )
        by_location: dict[str, list[str]] = defaultdict(list)
        for location, line in waiting:
            by_location[location].append(line)
        for location, lines in by_location.items():
            self._write(location, lines)

    def _write(self, location: str, lines: list[str]) -> None:
        uri = object_uri(location, datetime.now(UTC))
        try:
            if self._destination is None:
                self._destination = self._destination_factory()
            self.work_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.work_dir, suffix=".log", encoding="utf-8") as file:
                file.write("".join(line + "\n" for line in lines))
                file.flush()
                self._destination.put(uri, Path(file.name))
        except Exception as exc:  # never the request's concern: one line, the records dropped
            log.warning("s3 access log: %d record(s) for %s not written (%s)", len(lines), location, exc)

    def close(self) -> None:
        """Write what is waiting and stop (at shutdown)."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=60)
        self.flush()

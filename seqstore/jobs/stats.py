"""What this process's job worker did, for `/metrics` (rendered by seqstore/server.py): each
finished job's duration by kind and final status, and the bytes ingestion stored. Counted in
memory, per process, from its start (like the request counters); a `seqstore worker` process
apart from the servers keeps its own, which no scrape reaches (docs/operations.md, "Metrics")."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field

# Seconds: jobs run from milliseconds (a small FASTQ) to hours (an import of many sources).
BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)


@dataclass
class JobStats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (kind, status) -> per-bucket counts (the last: above every bound), and the sum of seconds
    durations: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    seconds: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    # file type -> read sets ingested and the bytes of their stored files; outcome -> read sets
    ingested_bytes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ingested: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def job_finished(self, kind: str, status: str, seconds: float) -> None:
        with self.lock:
            counts = self.durations.get((kind, status))
            if counts is None:
                counts = self.durations[(kind, status)] = [0] * (len(BUCKETS) + 1)
            counts[bisect_left(BUCKETS, seconds)] += 1
            self.seconds[(kind, status)] += seconds

    def read_set_ingested(self, file_type: str, stored_bytes: int) -> None:
        with self.lock:
            self.ingested_bytes[file_type] += stored_bytes
            self.ingested["ACTIVE"] += 1

    def read_set_failed(self) -> None:
        with self.lock:
            self.ingested["UPLOAD_FAILED"] += 1

    def snapshot(self) -> JobStats:
        with self.lock:
            return JobStats(
                durations={key: list(counts) for key, counts in self.durations.items()},
                seconds=dict(self.seconds), ingested_bytes=dict(self.ingested_bytes), ingested=dict(self.ingested),
            )


STATS = JobStats()  # this process's

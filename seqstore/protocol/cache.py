"""Values computed from the database alone, reused while the database has not changed.

A read such as GetSequenceStore is a function of the database alone (its declaration says
`cacheable`: no clock, no blob store, no caller in its answer). Its serialized answer is
kept per process, keyed by the request's path, query, body and content type, and reused only
while a value that every commit to the database changes, whichever connection or process makes
it (Database.data_version: SQLite's WAL-index header), is still what it was before the answer
was computed. Any write anywhere in the database drops every kept answer. A backend
without such a counter (PostgreSQL) gets no cache: every request is answered from the database.

The S3 plane keeps the rows an object's key names (its store, its read set file) the same way
(VersionedCache with a weight of one per entry).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

CacheKey = tuple[str, str, str, bytes, str | None]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_ENTRIES = 1024
# A larger answer (a long list page) is not kept: it would crowd out many small ones.
MAX_ANSWER_BYTES = 256 * 1024
# All kept answers of a process together (the server's memory budget is ~300 MB).
MAX_TOTAL_BYTES = 16 * 1024 * 1024


class VersionedCache(Generic[K, V]):
    """Values kept while Database.data_version (`version`) stays what it was when they were
    computed. `weight` is what a value counts against `max_total` (values heavier than
    `max_weight` are not kept)."""

    def __init__(
        self,
        version: Callable[[], object | None],
        max_entries: int = MAX_ENTRIES,
        max_total: int = MAX_TOTAL_BYTES,
        weight: Callable[[V], int] = lambda value: 1,
        max_weight: int = MAX_ANSWER_BYTES,
    ) -> None:
        self._version = version
        self._max_entries = max_entries
        self._max_total = max_total
        self._weight = weight
        self._max_weight = max_weight
        self._values: dict[K, V] = {}
        self._total = 0
        self._values_version: object | None = None
        self._lock = threading.Lock()

    def version(self) -> object | None:
        """The database's change counter now: take it *before* computing a value to keep."""
        return self._version()

    def clear(self) -> None:
        """Drop every kept value (testing mode's reset)."""
        with self._lock:
            self._values, self._total, self._values_version = {}, 0, None

    def get(self, key: K, version: object | None) -> V | None:
        if version is None:
            return None
        if version != self._values_version:
            with self._lock:
                self._values, self._total = {}, 0
                self._values_version = version
            return None
        return self._values.get(key)

    def put(self, key: K, version: object | None, value: V) -> None:
        """Keep `value`, computed from a database at least as new as `version`. Were it newer,
        the counter has moved past `version` already and the value is dropped unused."""
        if version is None:
            return
        weight = self._weight(value)
        if weight > self._max_weight:
            return
        with self._lock:
            if version != self._values_version:
                return
            if len(self._values) >= self._max_entries or self._total + weight > self._max_total:
                # Start again: cheaper on every hit than keeping an LRU order.
                self._values, self._total = {}, 0
            self._values[key] = value
            self._total += weight


class ResponseCache(VersionedCache[CacheKey, bytes]):
    """Serialized answers of cacheable reads, weighed by their length."""

    def __init__(
        self,
        version: Callable[[], object | None],
        max_entries: int = MAX_ENTRIES,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        super().__init__(version, max_entries, max_total_bytes, weight=len, max_weight=MAX_ANSWER_BYTES)

"""Answers of pure reads, reused while the database has not changed.

A read such as GetSequenceStore is a function of the database alone (its declaration says
`cacheable`: no clock, no blob store, no caller in its answer). Its serialized answer is
kept per process, keyed by the request's path, query, body and content type, and reused only
while a value that every commit to the database changes, whichever connection or process makes
it (Database.data_version: SQLite's WAL-index header), is still what it was before the answer
was computed. Any write anywhere in the database drops every kept answer. A backend
without such a counter (PostgreSQL) gets no cache: every request is answered from the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

CacheKey = tuple[str, str, str, bytes, str | None]

MAX_ENTRIES = 1024
# A larger answer (a long list page) is not kept: it would crowd out many small ones.
MAX_ANSWER_BYTES = 256 * 1024
# All kept answers of a process together (the server's memory budget is ~300 MB).
MAX_TOTAL_BYTES = 16 * 1024 * 1024


class ResponseCache:
    def __init__(
        self,
        version: Callable[[], object | None],
        max_entries: int = MAX_ENTRIES,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        self._version = version
        self._max_entries = max_entries
        self._max_total_bytes = max_total_bytes
        self._answers: dict[CacheKey, bytes] = {}
        self._total_bytes = 0
        self._answers_version: object | None = None
        self._lock = threading.Lock()

    def version(self) -> object | None:
        """The database's change counter now: take it *before* computing an answer to keep."""
        return self._version()

    def clear(self) -> None:
        """Drop every kept answer (testing mode's reset)."""
        with self._lock:
            self._answers, self._total_bytes, self._answers_version = {}, 0, None

    def get(self, key: CacheKey, version: object | None) -> bytes | None:
        if version is None:
            return None
        if version != self._answers_version:
            with self._lock:
                self._answers, self._total_bytes = {}, 0
                self._answers_version = version
            return None
        return self._answers.get(key)

    def put(self, key: CacheKey, version: object | None, answer: bytes) -> None:
        """Keep `answer`, computed from a database at least as new as `version`. Were it newer,
        the counter has moved past `version` already and the answer is dropped unused."""
        if version is None or len(answer) > MAX_ANSWER_BYTES:
            return
        with self._lock:
            if version != self._answers_version:
                return
            full = len(self._answers) >= self._max_entries
            if full or self._total_bytes + len(answer) > self._max_total_bytes:
                # Start again: cheaper on every hit than keeping an LRU order.
                self._answers, self._total_bytes = {}, 0
            self._answers[key] = answer
            self._total_bytes += len(answer)

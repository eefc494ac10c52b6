"""The background scrub (SEQSTORE_SCRUB_INTERVAL, docs/operations.md "Background scrub"): a thread
of the job worker that, every interval, re-reads every stored file of ACTIVE/ARCHIVED read sets
and ACTIVE references, as `seqstore verify` does (the same `Verifier.check`), slowly: at most
SEQSTORE_SCRUB_RATE MB/s, and only while the worker's job threads are not all busy. One worker
of a deployment scrubs at a time (the lease in store/scrub.py); the pass's cursor moves after each
read set or reference, so a worker killed mid-pass is resumed by the next one from there.

A new problem is one WARNING line and an open finding; a file found fine again resolves its
finding (an INFO line). GetReadSetMetadata does not show findings; /metrics does."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from .. import queue
from ..store.domain import Domain
from ..store.scrub import Change, Cursor
from ..store.verify import KINDS, Finding, Subject, Verifier

log = logging.getLogger("seqstore.scrub")

PAGE = 50  # subjects read from the database at a time
BUSY_WAIT = 1.0  # seconds between looks at the job threads while they are all busy
LONGEST_WAIT = 30.0  # seconds between looks at whether a pass is due
DATABASE_RETRY_SECONDS = 5.0  # after a failure (the database away): one line a try, not one a poll


class Stopped(Exception):
    """The worker is stopping, or another worker took the lease, in the middle of a subject."""


class Scrubber:
    """The scrub of one worker. `busy`: whether the worker's job threads are all running jobs
    (the scrub waits meanwhile)."""

    def __init__(
        self, domain: Domain, *, busy: Callable[[], bool] = lambda: False, owner: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = domain.settings
        self.state = domain.scrub
        self.interval = settings.scrub_interval
        self.lease_seconds = settings.job_lease_seconds
        self.busy = busy
        self.owner = owner or queue.new_owner()
        self.clock = clock
        self.verifier = Verifier(
            domain.db, domain.blobs, work_dir=settings.data_dir / "work" / "scrub",
            rate=settings.scrub_rate * 1e6, progress=self._progress,
        )
        self._stop = threading.Event()
        self._renewed = clock()

    def run(self, stop: threading.Event) -> None:
        """The scrub thread: a pass whenever one is due, until `stop` is set."""
        self._stop = stop
        while not stop.is_set():
            try:
                scrubbed = self.run_pass(stop)
                if not scrubbed:
                    stop.wait(self._wait())
            except OperationalError as exc:  # the database is away: a line, not a traceback
                reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
                log.warning("the scrub waits: the database does not answer (%s)", reason[-1][:300] if reason else "")
                stop.wait(DATABASE_RETRY_SECONDS)
            except Exception:
                log.exception("the scrub failed; it goes on later")
                stop.wait(DATABASE_RETRY_SECONDS)
        try:
            self.state.release(self.owner)
        except Exception:
            log.exception("could not free the scrub's lease")

    def run_pass(self, stop: threading.Event | None = None, limit: int | None = None) -> bool:
        """Take the lease and check subjects from the pass's cursor until the pass ends (or
        `stop`, a lost lease, or `limit` subjects checked); False when there was nothing to do
        (no pass due, or another worker scrubbing)."""
        self._stop = stop = stop or self._stop
        cursor = self.state.take(self.owner, self.interval, self.lease_seconds)
        if cursor is None:
            return False
        self._renewed = self.clock()
        at = "" if (cursor.kind, cursor.seq) == (KINDS[0], 0) else f", resumed after {cursor.kind} #{cursor.seq}"
        log.info("scrub pass of %s%s", f"{cursor.started:%Y-%m-%d %H:%M:%S} UTC", at)
        checked = 0
        for kind in KINDS[KINDS.index(cursor.kind):]:
            seq = cursor.seq if kind == cursor.kind else 0
            while page := self.verifier.page(kind, seq, PAGE):
                for subject in page:
                    if not self._yield_to_jobs(stop) or stop.is_set():
                        return True
                    before = self.verifier.summary.bytes
                    try:
                        self.check(subject)
                    except Stopped:
                        return True
                    seq = subject.row.seq
                    read = self.verifier.summary.bytes - before
                    if not self.state.advance(self.owner, Cursor(kind, seq, cursor.started), self.lease_seconds,
                                              subjects=1, bytes_read=read):  # fmt: skip
                        log.info("scrub: another worker took the pass over")
                        return True
                    self._renewed = self.clock()
                    checked += 1
                    if limit is not None and checked >= limit:
                        return True
        gone = self.state.finish(self.owner, cursor)
        for change in gone or []:
            log.info("scrub: %s is no longer stored; its finding is resolved (was: %s)", change.where(), change.problem)
        if gone is not None:
            findings = sum(self.state.metrics()["findings"].values())
            log.info("scrub pass of %s completed: %d open findings", f"{cursor.started:%Y-%m-%d %H:%M:%S} UTC",
                     findings)  # fmt: skip
        return True

    def check(self, subject: Subject) -> list[Change]:
        """Check one subject and record what was found; problems are checked again first (on
        the subject as the database has it now: a read set deleted or archived meanwhile is
        not a problem)."""
        findings = self._findings(subject)
        if findings:
            again = self.verifier.reload(subject)
            if again is None:
                return []
            subject, findings = again, self._findings(again)
        changes = self.state.record(subject, findings)
        for change in changes:
            if (change.file or None) in {finding.file for finding in findings}:
                log.warning("scrub: %s: %s", change.where(), change.problem)
            else:
                log.info("scrub: %s is fine again (was: %s)", change.where(), change.problem)
        return changes

    def _findings(self, subject: Subject) -> list[Finding]:
        try:
            return list(self.verifier.check(subject))
        except (Stopped, OperationalError):  # the database away is not the subject's problem
            raise
        except Exception as exc:  # noqa: BLE001 - the store could not be read: that is the finding
            return [Finding(subject, None, f"its files could not be read: {type(exc).__name__}: {exc}")]

    def _progress(self, _done: int, _total: int) -> None:
        """After each chunk read: stop if asked to, keep the lease while a large file is read."""
        if self._stop.is_set():
            raise Stopped
        self._keep_lease()

    def _keep_lease(self) -> None:
        if self.clock() - self._renewed >= self.lease_seconds / 3:
            if not self.state.renew(self.owner, self.lease_seconds):
                log.info("scrub: another worker took the pass over")
                raise Stopped
            self._renewed = self.clock()

    def _yield_to_jobs(self, stop: threading.Event) -> bool:
        """Wait while every job thread is busy (keeping the lease); False if the lease was lost."""
        while self.busy() and not stop.is_set():
            try:
                self._keep_lease()
            except Stopped:
                return False
            stop.wait(BUSY_WAIT)
        return True

    def _wait(self) -> float:
        """Seconds until the next look: when the next pass is due, or (another worker scrubbing)
        a third of a lease."""
        due = self.state.due_in(self.interval)
        wait = due if due > 0 else self.lease_seconds / 3
        return min(max(wait, 0.1), LONGEST_WAIT)

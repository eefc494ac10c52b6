"""Worker threads that run queued jobs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError

from .. import queue
from ..errors import OutOfDiskSpace, is_out_of_space
from ..queue import WakeSignal, items
from .stats import STATS

if TYPE_CHECKING:
    from ..db.engine import Database

log = logging.getLogger("seqstore.worker")

STATUS_MESSAGE = 255  # the length of a job's or item's status message column

# A runner takes the claimed job row and brings the job to a final status itself.
Runner = Callable[[Any], None]
# Called when a runner raised or a job exhausted its attempts: give it a final, failed status.
FailJob = Callable[[Any, str], None]
# Works the free items of a job another worker runs, as the given lease owner.
Helper = Callable[[Any, str], None]


class Worker:
    """`concurrency` threads claiming jobs; a heartbeat thread renews the leases they hold;
    `periodic` tasks and `services` in threads of their own."""

    def __init__(
        self,
        db: Database,
        runners: Mapping[str, Runner],
        fail: FailJob,
        *,
        concurrency: int = 2,
        poll_seconds: float = 0.5,
        periodic: list[tuple[float, Callable[[], Any]]] | None = None,
        lease_seconds: float = queue.LEASE_SECONDS,
        helpers: Mapping[str, Helper] | None = None,
        wake: WakeSignal | None = None,
        services: Sequence[Callable[[threading.Event], None]] = (),
    ) -> None:
        self.db = db
        self.runners = dict(runners)
        self.fail = fail
        self.concurrency = max(1, concurrency)
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds  # how long a claimed job stays ours without a renewal
        self.owner = queue.new_owner()
        self._stop = threading.Event()
        self._wake = wake or WakeSignal()
        self._running: set[str] = set()
        self._threads: list[threading.Thread] = []
        self.periodic = periodic or []
        self.helpers = dict(helpers or {})
        self._outage = Outage()
        # Background work in threads of its own until the worker stops (the scrub, jobs/scrub.py).
        self.services = list(services)

    def start(self) -> None:
        for i in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"seqstore-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        heartbeat = threading.Thread(target=self._heartbeat, name="seqstore-heartbeat", daemon=True)
        heartbeat.start()
        self._threads.append(heartbeat)
        for interval, task in self.periodic:
            thread = threading.Thread(
                target=self._every, args=(interval, task), name="seqstore-periodic", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        for service in self.services:
            thread = threading.Thread(target=service, args=(self._stop,), name="seqstore-service", daemon=True)
            thread.start()
            self._threads.append(thread)

    def busy(self) -> bool:
        """Whether every job thread is running a job."""
        return len(self._running) >= self.concurrency

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)

    def wake(self) -> None:
        """Tell idle threads that a job was queued (saves them waiting for the next poll)."""
        self._wake.notify()

    def run_once(self) -> bool:
        """Claim and run one job, else help with the items of one another worker runs; False
        when there was nothing to do."""
        job = queue.claim(self.db, self.owner, tuple(self.runners), self.lease_seconds)
        if job is None:
            return self._help_once()
        if job.kind in self.helpers:
            self.wake()  # idle threads of this process can help with its items
        self._running.add(job.id)
        started = time.monotonic()
        try:
            if job.attempts > queue.MAX_ATTEMPTS:
                self.fail(job, f"The job was abandoned after {queue.MAX_ATTEMPTS} interrupted attempts.")
                return True
            try:
                self.runners[job.kind](job)
            except Exception as exc:
                if isinstance(exc, OutOfDiskSpace) or is_out_of_space(exc):  # known: one line, no traceback
                    message = out_of_space_message(exc)
                    log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
                    self.fail(job, message)
                    return True
                log.exception("job %s (%s) failed", job.id, job.kind)
                self.fail(job, f"Internal error while running the job: {type(exc).__name__}")
        finally:
            self._running.discard(job.id)
            self._count(job, time.monotonic() - started)
        return True

    def _count(self, job: Any, seconds: float) -> None:
        """The job's duration in the metrics, under the status it ended with (a job that did not
        end, as when the process stops mid-job, is counted when it does)."""
        try:
            status = queue.final_status(self.db, job.id)
        except OperationalError:
            return  # the database is away; the loop says so
        if status is not None:
            STATS.job_finished(job.kind, status, seconds)

    def _help_once(self) -> bool:
        if not self.helpers:
            return False
        job = items.shared_job(self.db, tuple(self.helpers))
        if job is None:
            return False
        try:
            self.helpers[job.kind](job, self.owner)
        except Exception:
            log.exception("helping with job %s (%s) failed", job.id, job.kind)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once():
                    self._outage.over()
                    continue
                self._outage.over()
            except Exception as exc:
                self._outage.failed("the worker loop", exc)
            self._wake.wait(self.poll_seconds)

    def _every(self, interval: float, task: Callable[[], Any]) -> None:
        while not self._stop.wait(interval):
            try:
                task()
            except Exception as exc:
                self._outage.failed("a periodic task", exc)

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            if self.helpers:
                try:
                    items.renew_items(self.db, self.owner, self.lease_seconds)
                except Exception as exc:
                    self._outage.failed("renewing the leases of job items", exc)
            for job_id in list(self._running):
                try:
                    queue.renew(self.db, job_id, self.owner, self.lease_seconds)
                except Exception as exc:
                    self._outage.failed(f"renewing the lease of job {job_id}", exc)


class Outage:
    """Logs the worker's failures: an unreachable database once per outage, as one line (the
    loop retries every poll; a traceback a poll would bury the log), and again when it answers;
    anything else with its traceback."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False

    def failed(self, what: str, exc: Exception) -> None:
        if not isinstance(exc, OperationalError):
            log.error("%s failed", what, exc_info=exc)
            return
        with self._lock:
            first, self._down = not self._down, True
        if first:
            reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
            log.warning("the database does not answer (%s); jobs wait until it does, retrying",
                        reason[-1][:300] if reason else type(exc).__name__)

    def over(self) -> None:
        if self._down:
            with self._lock:
                was, self._down = self._down, False
            if was:
                log.warning("the database answers again; jobs run")


def out_of_space_message(exc: Exception) -> str:
    """The status message of a job or item that found the disk full."""
    if isinstance(exc, OutOfDiskSpace):
        message = exc.message
    else:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        message = f"The server ran out of disk space while running the job ({reason}); nothing of it was kept."
    return message if len(message) <= STATUS_MESSAGE else message[: STATUS_MESSAGE - 1] + "…"

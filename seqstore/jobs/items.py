"""Runs a job item by item.

A job's items are claimed one at a time, each with a lease, by the worker that claimed the job and
by idle workers helping it (any process, any host), so one job of many sources spreads over every
worker. Each item records its progress in the database, so a job interrupted by a crash resumes
where it stopped: finished items are skipped, an item that had created its read set picks that
read set up again."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from ..errors import OutOfDiskSpace, is_out_of_space
from ..queue import items, set_job_status
from ..store.disk import ran_out_briefly
from ..store.domain import Domain
from .objects import ObjectStore
from .worker import out_of_space_message

log = logging.getLogger("seqstore.jobs")

IN_PROGRESS_MESSAGE = "The job is currently in progress."
ITEM_IN_PROGRESS = "The source job is currently in progress."
# How often the worker that owns a job looks whether the items other workers hold are done.
ITEM_POLL_SECONDS = 0.2


class ItemFailed(Exception):
    """An item failed for a reason its statusMessage states."""


class ItemJobRunner:
    """Runs a job item by item (see the module docstring); subclasses do one item."""

    kind = ""
    shared = True  # idle workers may take this job's items

    def __init__(self, domain: Domain, objects: ObjectStore) -> None:
        self.domain = domain
        self.objects = objects

    def work_dir(self, job_id: str) -> Path:
        return self.domain.settings.data_dir / "work" / job_id

    def item_dir(self, job: Any, item: Any) -> Path:
        """A fresh, empty scratch directory for one item."""
        path = self.work_dir(job.id) / str(item.position)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def run(self, job: Any) -> None:
        """Run a job this worker claimed (job.lease_owner is this worker): work its items, wait
        for those other workers hold (or take them over when their leases run out), then give
        the job its final status."""
        db = self.domain.db
        set_job_status(db, job.id, "IN_PROGRESS", IN_PROGRESS_MESSAGE)
        try:
            while True:
                self.help(job, job.lease_owner)
                if items.unfinished_items(db, job.id) == 0:
                    break
                time.sleep(ITEM_POLL_SECONDS)
        finally:
            shutil.rmtree(self.work_dir(job.id), ignore_errors=True)
        items.finish_from_items(db, job.id)

    def help(self, job: Any, owner: str) -> None:
        """Work the items of `job` that no live worker holds, one at a time, until none is left."""
        db, lease = self.domain.db, self.domain.settings.job_lease_seconds
        while (item := items.claim_item(db, job.id, owner, lease)) is not None:
            self._run_item(job, item)

    def _run_item(self, job: Any, item: Any) -> None:
        db = self.domain.db
        items.set_item(db, job.id, item.position, "IN_PROGRESS", ITEM_IN_PROGRESS)
        try:
            self.domain.disk.check(0, f"source {item.position}")  # it is fetched into the work dir
            message = self.run_item(job, item)
        except ItemFailed as exc:
            items.set_item(db, job.id, item.position, "FAILED", str(exc))
        except Exception as exc:
            if isinstance(exc, OutOfDiskSpace) or is_out_of_space(exc):  # known: one line, no traceback
                self._out_of_space(job, item, exc)
                return
            log.exception("job %s item %d failed", job.id, item.position)
            message = f"Internal error: {type(exc).__name__}"
            self.abandon(job, items.current(db, job.id, item.position), message)
            items.set_item(db, job.id, item.position, "FAILED", message)
        else:
            items.set_item(db, job.id, item.position, "FINISHED", message)
            log.info("job %s: source %d finished", job.id, item.position)
        finally:
            shutil.rmtree(self.work_dir(job.id) / str(item.position), ignore_errors=True)

    def _out_of_space(self, job: Any, item: Any, exc: OutOfDiskSpace | OSError) -> None:
        """An item that found the disk full fails saying so (disk.py's words), in one log line;
        its scratch files and what it had stored go before the failure is written (the database
        may be on the full disk)."""
        item = items.current(self.domain.db, job.id, item.position)
        if isinstance(exc, OutOfDiskSpace):  # refused by the reserve check: nothing written
            log.warning("job %s item %d failed: %s", job.id, item.position, exc.message)
            message = summary = out_of_space_message(exc)
        else:
            what = self.stored_what(job, item)
            message = out_of_space_message(self.domain.disk.write_failed(exc, what))  # logs the line
            summary = ran_out_briefly(exc, what)
        shutil.rmtree(self.work_dir(job.id) / str(item.position), ignore_errors=True)
        self.abandon(job, item, message)
        items.set_item(self.domain.db, job.id, item.position, "FAILED", summary)

    def stored_what(self, job: Any, item: Any) -> str:
        """What the item was storing, as an out-of-space message names it."""
        return f"source {item.position} of job {job.id}"

    def abandon(self, job: Any, item: Any, message: str) -> None:
        """Undo what an item that failed unexpectedly (`item`: its row now) had begun: drop
        what it stored and fail what it created, with `message`. Nothing by default."""

    def run_item(self, job: Any, item: Any) -> str | None:
        """Do one item's work (`item` is its row as claimed); return its success message, or
        raise ItemFailed."""
        raise NotImplementedError

    def fail(self, job: Any, message: str) -> None:
        """Give a job that cannot go on a final status: unfinished items fail with `message`."""
        self.domain.read_set_jobs.fail_unfinished(job, message)
        items.finish_from_items(self.domain.db, job.id)
        shutil.rmtree(self.work_dir(job.id), ignore_errors=True)

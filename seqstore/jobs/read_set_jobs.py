"""Runners of read set import, export and activation jobs, and the archiver.

A job's items are claimed one at a time, each with a lease, by the worker that claimed the job and
by idle workers helping it (any process, any host), so one job of many sources spreads over every
worker. Each item records its progress in the database, so a job interrupted by a crash resumes
where it stopped: finished items are skipped, an item that had created its read set picks that
read set up again."""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update

from ..db import schema as t
from ..store.common import now
from ..store.context import StoreContext
from ..store.read_set_jobs import ACTIVATION, EXPORT, IMPORT
from . import queue
from .ingest import imported_file_names, ingest_read_set
from .objects import ObjectAccessError, ObjectStore

log = logging.getLogger("seqstore.jobs")

IN_PROGRESS_MESSAGE = "The job is currently in progress."
ITEM_IN_PROGRESS = "The source job is currently in progress."
NO_ACTIVATION_NEEDED = "No activation needed as read set is already in ACTIVATING or ACTIVE state."


def _short(message: str) -> str:
    """Job and item messages are at most 127 characters in the model."""
    return message if len(message) <= 127 else message[:124] + "..."


class ItemFailed(Exception):
    """An item failed for a reason its statusMessage states."""


# How often the worker that owns a job looks whether the items other workers hold are done.
ITEM_POLL_SECONDS = 0.2


class ItemJobRunner:
    """Runs a job item by item (see the module docstring); subclasses do one item."""

    kind = ""
    shared = True  # idle workers may take this job's items

    def __init__(self, ctx: StoreContext, objects: ObjectStore) -> None:
        self.ctx = ctx
        self.objects = objects

    def work_dir(self, job_id: str) -> Path:
        return self.ctx.settings.data_dir / "work" / job_id

    def run(self, job: Any) -> None:
        """Run a job this worker claimed (job.lease_owner is this worker): work its items, wait
        for those other workers hold (or take them over when their leases run out), then give
        the job its final status."""
        with self.ctx.db.write() as connection:
            queue.set_status(connection, job.id, "IN_PROGRESS", IN_PROGRESS_MESSAGE)
        try:
            while True:
                self.help(job, job.lease_owner)
                if queue.unfinished_items(self.ctx.db, job.id) == 0:
                    break
                time.sleep(ITEM_POLL_SECONDS)
        finally:
            shutil.rmtree(self.work_dir(job.id), ignore_errors=True)
        self._finish(job.id)

    def help(self, job: Any, owner: str) -> None:
        """Work the items of `job` that no live worker holds, one at a time, until none is left."""
        lease = self.ctx.settings.job_lease_seconds
        while (item := queue.claim_item(self.ctx.db, job.id, owner, lease)) is not None:
            self._run_item(job, item)

    def _run_item(self, job: Any, item: Any) -> None:
        self.set_item(job.id, item.position, "IN_PROGRESS", ITEM_IN_PROGRESS)
        try:
            message = self.run_item(job, item)
        except ItemFailed as exc:
            self.set_item(job.id, item.position, "FAILED", str(exc))
        except Exception as exc:
            log.exception("job %s item %d failed", job.id, item.position)
            self.set_item(job.id, item.position, "FAILED", f"Internal error: {type(exc).__name__}")
        else:
            self.set_item(job.id, item.position, "FINISHED", message)
            log.info("job %s: source %d finished", job.id, item.position)
        finally:
            shutil.rmtree(self.work_dir(job.id) / str(item.position), ignore_errors=True)

    def run_item(self, job: Any, item: Any) -> str | None:
        """Do one item's work; return its success message, or raise ItemFailed."""
        raise NotImplementedError

    def set_item(self, job_id: str, position: int, status: str, message: str | None, **values: Any) -> None:
        if status in queue.FINAL_ITEM_STATUSES:
            values.update(lease_owner=None, lease_expires=None)
        with self.ctx.db.write() as connection:
            connection.execute(
                update(t.job_items)
                .where(t.job_items.c.job_id == job_id, t.job_items.c.position == position)
                .values(status=status, status_message=_short(message) if message else None, **values)
            )

    def _finish(self, job_id: str) -> None:
        with self.ctx.db.write() as connection:
            statuses = [
                row.status
                for row in connection.execute(
                    select(t.job_items.c.status).where(t.job_items.c.job_id == job_id)
                )
            ]
            failed = statuses.count("FAILED")
            if failed == 0:
                queue.finish(connection, job_id, "COMPLETED", "The job completed successfully.")
            elif failed == len(statuses):
                queue.finish(
                    connection,
                    job_id,
                    "FAILED",
                    _short(f"All {failed} sources failed; see each source's statusMessage."),
                )
            else:
                queue.finish(
                    connection,
                    job_id,
                    "COMPLETED_WITH_FAILURES",
                    _short(f"{failed} of {len(statuses)} sources failed; see each source's statusMessage."),
                )

    def fail(self, job: Any, message: str) -> None:
        """Give a job that cannot go on a final status: unfinished items fail with `message`."""
        with self.ctx.db.write() as connection:
            connection.execute(
                update(t.job_items)
                .where(t.job_items.c.job_id == job.id, t.job_items.c.status.not_in(("FINISHED", "FAILED")))
                .values(status="FAILED", status_message=_short(message))
            )
            if self.kind == IMPORT:
                created = select(t.job_items.c.result_id).where(t.job_items.c.job_id == job.id)
                connection.execute(
                    update(t.read_sets)
                    .where(t.read_sets.c.id.in_(created), t.read_sets.c.status == "PROCESSING_UPLOAD")
                    .values(status="UPLOAD_FAILED", status_message=message[:255])
                )
        self._finish(job.id)
        shutil.rmtree(self.work_dir(job.id), ignore_errors=True)


class ImportRunner(ItemJobRunner):
    kind = IMPORT

    def run_item(self, job: Any, item: Any) -> str | None:
        ctx = self.ctx
        source = item.source
        read_set = self._read_set(job, item)
        if read_set.status == "ACTIVE":
            return None
        if read_set.status != "PROCESSING_UPLOAD":
            raise ItemFailed(read_set.status_message or f"The read set is {read_set.status}")
        work_dir = self.work_dir(job.id) / str(item.position)
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        try:
            fetched = {
                name: self.objects.fetch_copyable(uri, work_dir)
                for name, uri in source["sourceFiles"].items()
                if uri
            }
        except ObjectAccessError as exc:
            with ctx.db.write() as connection:
                ctx.read_sets.mark_failed(connection, read_set.id, str(exc))
            raise ItemFailed(str(exc)) from None
        paths = {name: path for name, (path, _) in fetched.items()}
        copies = {name: copy for name, (_, copy) in fetched.items() if copy is not None}
        names = imported_file_names(source["sourceFiles"], read_set.file_type)
        outcome = ingest_read_set(ctx, read_set, paths, work_dir, names, copies=copies)
        if isinstance(outcome, str):
            raise ItemFailed(outcome)
        return None

    def _read_set(self, job: Any, item: Any) -> Any:
        """The item's read set, created (PROCESSING_UPLOAD) by the first attempt."""
        ctx = self.ctx
        with ctx.db.write() as connection:
            if item.result_id is None:
                source = item.source
                first_file = source["sourceFiles"]["source1"].rsplit("/", 1)[-1]
                row = SimpleNamespace(
                    name=source.get("name") or first_file.split(".", 1)[0][:127] or "readset",
                    description=source.get("description"),
                    subject_id=source["subjectId"],
                    sample_id=source["sampleId"],
                    generated_from=source.get("generatedFrom"),
                    reference_arn=source.get("referenceArn"),
                    source_file_type=source["sourceFileType"],
                    tags=source.get("tags") or {},
                )
                store = ctx.sequence_stores.require(connection, job.store_id)
                read_set_id = ctx.read_sets.insert_processing(
                    connection, store, row, creation_type="IMPORT", creation_job_id=job.id
                )
                connection.execute(
                    update(t.job_items)
                    .where(t.job_items.c.job_id == job.id, t.job_items.c.position == item.position)
                    .values(result_id=read_set_id)
                )
            else:
                read_set_id = item.result_id
            return connection.execute(select(t.read_sets).where(t.read_sets.c.id == read_set_id)).one()


def existing_read_set(connection: Any, store_id: str, read_set_id: str) -> Any:
    """The row of a read set of the store that is not deleted, else the item fails."""
    read_set = connection.execute(
        select(t.read_sets).where(
            t.read_sets.c.id == read_set_id, t.read_sets.c.sequence_store_id == store_id
        )
    ).first()
    if read_set is None or read_set.status in ("DELETING", "DELETED"):
        raise ItemFailed(f"Read set {read_set_id} does not exist in this sequence store.")
    return read_set


class ExportRunner(ItemJobRunner):
    kind = EXPORT

    def run_item(self, job: Any, item: Any) -> str | None:
        ctx = self.ctx
        read_set_id = item.source["readSetId"]
        with ctx.db.read() as connection:
            read_set = existing_read_set(connection, job.store_id, read_set_id)
            if read_set.status != "ACTIVE":
                raise ItemFailed(
                    f"Read set {read_set_id} is {read_set.status}; only ACTIVE read sets can be exported."
                )
            files = connection.execute(
                select(t.read_set_files).where(t.read_set_files.c.read_set_id == read_set_id)
            ).all()
        destination = job.destination if job.destination.endswith("/") else job.destination + "/"
        work_dir = self.work_dir(job.id) / str(item.position)
        for stored in files:
            try:
                with ctx.blobs.local_file(stored.blob_key, work_dir) as path:
                    self.objects.put(f"{destination}{read_set_id}/{stored.file_name}", path)
            except ObjectAccessError as exc:
                raise ItemFailed(str(exc)) from None
        with ctx.db.write() as connection:
            connection.execute(
                update(t.read_sets).where(t.read_sets.c.id == read_set_id).values(last_access_time=now())
            )
        return None


class ActivationRunner(ItemJobRunner):
    kind = ACTIVATION
    shared = False  # at most 20 quick items: one worker does them in order

    def run_item(self, job: Any, item: Any) -> str | None:
        ctx = self.ctx
        read_set_id = item.source["readSetId"]
        with ctx.db.write() as connection:
            read_set = existing_read_set(connection, job.store_id, read_set_id)
            resuming = (
                read_set.status == "ACTIVATING"
                and item.status == "IN_PROGRESS"
                and item.result_id == read_set_id
            )
            if read_set.status in ("ACTIVE", "ACTIVATING") and not resuming:
                return NO_ACTIVATION_NEEDED
            if read_set.status not in ("ARCHIVED", "ACTIVATING"):
                raise ItemFailed(f"Read set {read_set_id} is {read_set.status} and cannot be activated.")
            connection.execute(
                update(t.read_sets)
                .where(t.read_sets.c.id == read_set_id)
                .values(status="ACTIVATING", update_time=now())
            )
            connection.execute(
                update(t.job_items)
                .where(t.job_items.c.job_id == job.id, t.job_items.c.position == item.position)
                .values(result_id=read_set_id)
            )
        ctx.read_sets.move_files(read_set_id, archived=False)
        with ctx.db.write() as connection:
            timestamp = now()
            connection.execute(
                update(t.read_sets)
                .where(t.read_sets.c.id == read_set_id)
                .values(status="ACTIVE", update_time=timestamp, last_access_time=timestamp)
            )
        return None


class Archiver:
    """Archives ACTIVE read sets not read for `archive_after_seconds` (0 = never)."""

    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    def run_once(self, limit: int = 100) -> int:
        period = self.ctx.settings.archive_after_seconds
        if period <= 0:
            return 0
        cutoff = now() - timedelta(seconds=period)
        c = t.read_sets.c
        with self.ctx.db.write() as connection:
            ids = [
                row.id
                for row in connection.execute(
                    select(c.id).where(c.status == "ACTIVE", c.last_access_time < cutoff).limit(limit)
                )
            ]
            if ids:
                connection.execute(
                    update(t.read_sets)
                    .where(c.id.in_(ids), c.status == "ACTIVE")
                    .values(status="ARCHIVED", update_time=now())
                )
        for read_set_id in ids:
            self.ctx.read_sets.move_files(read_set_id, archived=True)
        return len(ids)

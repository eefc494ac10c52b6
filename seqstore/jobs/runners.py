"""The worker of a process, with a runner for every job kind."""

from __future__ import annotations

from typing import Any

from ..store.context import StoreContext
from ..store.uploads import INGEST_UPLOAD
from .ingest import UploadIngestion
from .worker import Worker


def build_worker(ctx: StoreContext, concurrency: int) -> Worker:
    """A Worker running every job kind on `ctx`; it wakes when this process queues a job."""
    kinds: dict[str, Any] = {INGEST_UPLOAD: UploadIngestion(ctx)}

    def fail(job: Any, message: str) -> None:
        kinds[job.kind].fail(job, message)

    worker = Worker(
        ctx.db, {kind: runner.run for kind, runner in kinds.items()}, fail, concurrency=concurrency
    )
    ctx.wake_workers = worker.wake
    return worker


def recover(ctx: StoreContext) -> None:
    """Finish what a crash interrupted outside the job queue (deletions, abandoned parts)."""
    ctx.read_sets.recover()
    ctx.uploads.recover()

"""The worker of a process, with a runner for every job kind."""

from __future__ import annotations

from typing import Any

from ..store.context import StoreContext
from ..store.read_set_jobs import ACTIVATION, EXPORT, IMPORT
from ..store.references import REFERENCE_IMPORT
from ..store.sequence_stores import PROPAGATE_TAGS
from ..store.uploads import INGEST_UPLOAD
from . import queue
from .ingest import UploadIngestion
from .objects import LocalBuckets, ObjectStore, S3Objects
from .propagate_tags import PropagateTagsRunner
from .read_set_jobs import ActivationRunner, Archiver, ExportRunner, ImportRunner
from .reference_import import ReferenceImportRunner
from .worker import Worker


def object_store(ctx: StoreContext) -> ObjectStore:
    """Where s3:// URIs lead: a buckets directory when one is set, else the configured S3
    endpoint, else DATA_DIR/buckets."""
    settings = ctx.settings
    if settings.s3_endpoint_url and settings.buckets_dir is None:
        return S3Objects(settings.s3_endpoint_url, settings.region)
    settings.resolved_buckets_dir.mkdir(parents=True, exist_ok=True)
    return LocalBuckets(settings.resolved_buckets_dir)


def build_worker(ctx: StoreContext, concurrency: int) -> Worker:
    """A Worker running every job kind on `ctx`; it wakes when this process queues a job."""
    objects = object_store(ctx)
    kinds: dict[str, Any] = {
        INGEST_UPLOAD: UploadIngestion(ctx, objects),
        IMPORT: ImportRunner(ctx, objects),
        EXPORT: ExportRunner(ctx, objects),
        ACTIVATION: ActivationRunner(ctx, objects),
        REFERENCE_IMPORT: ReferenceImportRunner(ctx, objects),
        PROPAGATE_TAGS: PropagateTagsRunner(ctx),
    }

    def fail(job: Any, message: str) -> None:
        kinds[job.kind].fail(job, message)

    archiver = Archiver(ctx)
    worker = Worker(
        ctx.db,
        {kind: runner.run for kind, runner in kinds.items()},
        fail,
        concurrency=concurrency,
        periodic=[(_archive_interval(ctx), archiver.run_once)],
        lease_seconds=ctx.settings.job_lease_seconds,
        helpers={
            kind: runner.help for kind, runner in kinds.items() if getattr(runner, "shared", False)
        },
    )
    ctx.wake_workers = worker.wake
    return worker


def recover(ctx: StoreContext) -> None:
    """Finish what a crash interrupted: free the job leases of dead local processes, finish
    deletions, drop abandoned parts."""
    queue.release_dead_leases(ctx.db)
    ctx.read_sets.recover()
    ctx.uploads.recover()


def _archive_interval(ctx: StoreContext) -> float:
    """How often to look for read sets to archive: often enough for short test periods."""
    period = ctx.settings.archive_after_seconds
    return min(max(period / 4, 0.5), 3600.0) if period > 0 else 3600.0

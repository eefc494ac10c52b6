"""The worker of a process, with a runner for every job kind."""

from __future__ import annotations

from typing import Any

from ..queue import kinds
from ..store.domain import Domain
from .ingest import UploadIngestion
from .objects import LocalBuckets, ObjectStore, S3Objects
from .propagate_tags import PropagateTagsRunner
from .read_set_jobs import ActivationRunner, Archiver, ExportRunner, ImportRunner
from .reference_import import ReferenceImportRunner
from .scrub import Scrubber
from .streaming import StreamingIngests
from .worker import Worker


def object_store(domain: Domain) -> ObjectStore:
    """Where s3:// URIs lead: a buckets directory when one is set, else the configured S3
    endpoint, else DATA_DIR/buckets."""
    settings = domain.settings
    if settings.s3_endpoint_url and settings.buckets_dir is None:
        return S3Objects(settings.s3_endpoint_url, settings.region)
    settings.resolved_buckets_dir.mkdir(parents=True, exist_ok=True)
    return LocalBuckets(settings.resolved_buckets_dir)


def build_worker(domain: Domain, concurrency: int, streams: StreamingIngests | None = None) -> Worker:
    """A Worker running every job kind on `domain`; it wakes when the domain queues a job.
    `streams`: the uploads this process ingests as they arrive (docs/streaming.md)."""
    objects = object_store(domain)
    runners: dict[str, Any] = {
        kinds.INGEST_UPLOAD: UploadIngestion(domain, objects, streams),
        kinds.READSET_IMPORT: ImportRunner(domain, objects),
        kinds.READSET_EXPORT: ExportRunner(domain, objects),
        kinds.READSET_ACTIVATION: ActivationRunner(domain, objects),
        kinds.REFERENCE_IMPORT: ReferenceImportRunner(domain, objects),
        kinds.PROPAGATE_TAGS: PropagateTagsRunner(domain),
    }

    def fail(job: Any, message: str) -> None:
        runners[job.kind].fail(job, message)

    archiver = Archiver(domain)
    services = []
    if domain.settings.scrub_interval > 0:  # docs/operations.md, "Background scrub"
        services.append(Scrubber(domain, busy=lambda: worker.busy()).run)
    worker = Worker(
        domain.db,
        {kind: runner.run for kind, runner in runners.items()},
        fail,
        concurrency=concurrency,
        periodic=[(_archive_interval(domain), archiver.run_once)],
        lease_seconds=domain.settings.job_lease_seconds,
        helpers={kind: runner.help for kind, runner in runners.items() if getattr(runner, "shared", False)},
        wake=domain.wake,
        services=services,
    )
    return worker


def _archive_interval(domain: Domain) -> float:
    """How often to look for read sets to archive: often enough for short test periods."""
    period = domain.settings.archive_after_seconds
    return min(max(period / 4, 0.5), 3600.0) if period > 0 else 3600.0

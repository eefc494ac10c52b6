"""The composition root: settings → database, blob store, keys → domain → the API application
and the job worker. `seqstore serve`, `seqstore worker`, every API process of `serve --workers N`,
the tests and the benchmarks assemble the service here, and only here."""

from __future__ import annotations

import logging
from typing import Any

from . import native, queue
from .api.app import create_app
from .blobs import open_blob_store
from .config import Settings
from .dataplane.access_log import AccessLog
from .dataplane.app import S3Plane
from .dataplane.drs import DrsApp
from .dataplane.htsget import HtsgetApp
from .dataplane.log_buffer import LogBuffer
from .dataplane.routing import is_s3
from .db.engine import Database
from .jobs.runners import build_worker, object_store
from .jobs.stats import BUCKETS as JOB_BUCKETS
from .jobs.stats import STATS
from .jobs.streaming import StreamingIngests
from .jobs.worker import Worker
from .protocol.auth import SigV4Verifier
from .protocol.dispatch import Dispatcher
from .protocol.exchange import Receive, Send
from .protocol.metrics import RequestMetrics, counter, gauge, histogram_samples
from .protocol.model import storage_operations
from .store.access_keys import AccessKey, AccessKeys, load_master_key
from .store.domain import Domain

log = logging.getLogger("seqstore")


def build_domain(settings: Settings) -> Domain:
    """The domain on the configured database (schema migrated) and blob store."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url())
    db.migrate()
    env_key = None
    if settings.access_key_id and settings.secret_access_key:
        env_key = AccessKey(settings.access_key_id, settings.secret_access_key, name="environment")
    keys = AccessKeys(db, load_master_key(settings.data_dir), env_key)
    blobs = open_blob_store(settings)
    blobs.check()
    return Domain(settings, db, blobs, keys, queue.WakeSignal())


def recover(domain: Domain) -> None:
    """Finish what a crash interrupted: free the job leases of dead local processes, finish
    deletions, drop abandoned parts."""
    queue.release_dead_leases(domain.db)
    domain.recover()


def worker(domain: Domain, threads: int, streams: StreamingIngests | None = None) -> Worker:
    """A job worker of `threads` threads on the domain (not started)."""
    return build_worker(domain, threads, streams)


class FrontRouter:
    """The ASGI application on the port: the GA4GH planes by path (htsget under /htsget/, DRS
    under /ga4gh/drs/v1/: no alias is either word), S3 requests (dataplane/routing.py's rule: a
    credential scope naming s3, a presigned query, or unsigned with an access point alias for
    bucket) to the S3 data plane, everything else (and the lifespan) to the omics dispatcher."""

    def __init__(self, omics: Dispatcher, s3: S3Plane, planes: list[Any]) -> None:
        self.omics = omics
        self.s3 = s3
        self.planes = planes
        # The first path segments of the omics API's routes (and its internal ones): a request
        # under one of them is the omics API's without a look at its headers (~0.3 µs, where the
        # header scan costs ~1 µs). No alias and no key (`{account}/...`) is one of these words;
        # an s3-signed request for a bucket so named gets the omics API's signature error.
        self.omics_roots = frozenset(
            [op.http["requestUri"].strip("/").split("/", 1)[0].split("?", 1)[0] for op in storage_operations()]
            + [path.strip("/").split("/", 1)[0] for path in omics.lifecycle.internal_routes]
        )

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            end = path.find("/", 1)
            first = path[1:end] if end > 0 else path[1:]
            if first not in self.omics_roots:
                for plane in self.planes:
                    if plane.handles(path):
                        await plane(scope, receive, send)
                        return
                if is_s3(scope):
                    await self.s3(scope, receive, send)
                    return
        await self.omics(scope, receive, send)


def s3_plane(domain: Domain, metrics: RequestMetrics | None = None) -> S3Plane:
    """The S3-compatible read-only data plane on `domain` (docs/s3.md), with the omics API's keys;
    its access logs go where export destinations do (jobs/objects.py)."""
    settings = domain.settings
    verifier = None if settings.auth == "none" else SigV4Verifier(domain.keys.lookup, settings.region, service="s3")
    buffer = LogBuffer(
        lambda: object_store(domain), settings.data_dir / "work" / "access-logs", settings.access_log_flush_seconds
    )
    access_log = AccessLog(buffer, settings.account_id, domain.arns.access_point)
    return S3Plane(domain.s3_objects, domain.blobs, verifier, settings.region, domain.s3_access, access_log,
                   metrics)


def application(domain: Domain, *, job_threads: int = 0) -> FrontRouter:
    """The ASGI application on `domain`, with `job_threads` job worker threads in this process
    (0: jobs are left to `seqstore worker` processes)."""
    # Uploads are ingested as they arrive only where this process runs their jobs (docs/streaming.md).
    slots = domain.settings.streaming_uploads
    streams = StreamingIngests(domain, slots) if job_threads and slots > 0 else None
    if streams is not None:
        domain.uploads.events = streams
    jobs = worker(domain, job_threads, streams) if job_threads else None
    metrics = RequestMetrics()  # the omics API's and the S3 plane's requests
    s3 = s3_plane(domain, metrics)

    def startup() -> None:
        native.log_status()
        recover(domain)
        if streams is not None:
            streams.start()
        if jobs is not None:
            jobs.start()

    def shutdown() -> None:
        if jobs is not None:
            jobs.stop()
        if streams is not None:
            streams.close()
        if s3.access_log is not None:
            s3.access_log.buffer.close()

    omics = create_app(domain, on_startup=startup, on_shutdown=shutdown,
                       more_metrics=(lambda: job_metrics(streams)) if jobs is not None else None, metrics=metrics)
    return FrontRouter(omics, s3, [HtsgetApp(domain), DrsApp(domain)])


def job_metrics(streams: StreamingIngests | None) -> list[str]:
    """`/metrics` lines of this process's job worker: job durations, what ingestion stored,
    streaming ingestion's counts (docs/operations.md, "Metrics")."""
    stats = STATS.snapshot()
    lines = ["# HELP seqstore_job_duration_seconds Jobs this process ran, from claim to end, by kind and final status.",
             "# TYPE seqstore_job_duration_seconds histogram"]  # fmt: skip
    for (kind, status), counts in sorted(stats.durations.items()):
        lines += histogram_samples("seqstore_job_duration_seconds", f'kind="{kind}",status="{status}"',
                                   JOB_BUCKETS, counts, stats.seconds[(kind, status)])  # fmt: skip
    lines += counter("seqstore_ingested_bytes_total", "Bytes of read set files ingestion stored, by file type.",
                     {(("file_type", kind),): n for kind, n in stats.ingested_bytes.items()})  # fmt: skip
    lines += counter("seqstore_ingested_read_sets_total", "Read sets ingestion ended, by the status they got.",
                     {(("status", status),): n for status, n in stats.ingested.items()})  # fmt: skip
    if streams is not None:  # docs/streaming.md
        streamed = streams.metrics()
        lines += counter("seqstore_streaming_ingests_total",
                         "Completed FASTQ uploads whose streamed scan was used, or that were read at Complete.",
                         {(("outcome", o),): streamed[o] for o in ("used", "fallback")})  # fmt: skip
        lines += gauge("seqstore_streaming_uploads", "Uploads being ingested as they arrive.",
                       {(): streamed["active"]})  # fmt: skip
    return lines


def app_from_environment() -> FrontRouter:
    """The application as configured by SEQSTORE_* variables: the factory each API process of
    `seqstore serve --workers N` builds (uvicorn imports it by name in every process)."""
    settings = Settings()
    domain = build_domain(settings)
    domain.keys.check_master_key()
    return application(domain, job_threads=settings.concurrency)

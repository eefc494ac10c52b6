"""The ASGI application of the storage API on a domain: every operation as its module declares
it, with auth, limits and the response cache."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from ..protocol.auth import SigV4Verifier
from ..protocol.cache import ResponseCache
from ..protocol.dispatch import Dispatcher, InternalRoute, Lifecycle, Policies
from ..protocol.faults import Faults
from ..protocol.metrics import RequestMetrics, counter, gauge
from ..protocol.operations import Registry
from ..protocol.quotas import ConcurrencyLimiter, RateLimiter, parse_overrides
from ..store.domain import Domain
from . import read_set_jobs, read_sets, references, s3_access, sequence_stores, tags, testing, uploads

log = logging.getLogger("seqstore")

API_MODULES = (sequence_stores, read_sets, uploads, read_set_jobs, references, s3_access, tags)
# Every operation this server answers, as each module declares it.
OPERATIONS = Registry(operation for module in API_MODULES for operation in module.OPERATIONS)


def create_app(
    domain: Domain,
    *,
    on_startup: Callable[[], None] = lambda: None,
    on_shutdown: Callable[[], None] = lambda: None,
    more_metrics: Callable[[], list[str]] | None = None,
    metrics: RequestMetrics | None = None,
) -> Dispatcher:
    """The ASGI application serving the storage API on `domain`, calling `on_startup` and
    `on_shutdown` (seqstore/server.py starts and stops the job worker there; the database is
    disposed of after `on_shutdown`); `more_metrics()` gives more lines of `/metrics`, and `metrics` may be shared with
    the data planes. Requests must be signed with SigV4 unless the settings say
    `auth = none`."""
    settings = domain.settings

    async def health(_: Any) -> tuple[int, dict[str, Any]]:
        # Degraded, still 200: reads are served; writes are refused until space is freed.
        disks = domain.disk.spaces()
        status = "degraded" if any(space.low for space in disks) else "ok"
        return 200, {"status": status, "service": "seqstore", "disk": [space.as_json() for space in disks]}

    def shutdown() -> None:
        on_shutdown()
        domain.db.dispose()

    metrics = metrics or RequestMetrics()
    started = time.time()

    async def metrics_route(_: Any) -> tuple[int, str]:
        depth: dict[str, int] | None = None
        scrub: dict[str, Any] | None = None
        try:
            depth = await asyncio.to_thread(domain.queue_depth)
            scrub = await asyncio.to_thread(domain.scrub.metrics)
        except Exception as error:  # noqa: BLE001 - the scrape still answers, saying so
            log.warning("/metrics: the queue depth and scrub figures are missing: the database did not answer (%s)",
                        str(getattr(error, "orig", None) or error).strip().splitlines()[-1][:300])
        disks = await asyncio.to_thread(domain.disk.spaces)
        lines = metrics.render()
        # Counters restart from zero with the process; this says when (Prometheus sees the reset).
        lines += gauge("seqstore_start_time_seconds", "When this server process started (Unix time).",
                       {(): started})  # fmt: skip
        lines += gauge("seqstore_database_up", "1 if the database answered this scrape's query, else 0.",
                       {(): 0 if scrub is None else 1})  # fmt: skip
        lines += gauge("seqstore_jobs_runnable", "Jobs queued or running, by kind.",
                       {(("kind", kind),): count for kind, count in (depth or {}).items()})  # fmt: skip
        lines += gauge("seqstore_disk_free_bytes", "Free bytes of each filesystem seqstore writes to.",
                       {(("path", str(d.path)),): d.free for d in disks})  # fmt: skip
        lines += gauge("seqstore_disk_reserve_bytes", "Bytes kept free (SEQSTORE_MIN_FREE_BYTES).",
                       {(("path", str(d.path)),): d.reserve for d in disks})  # fmt: skip
        if scrub is not None:
            lines += scrub_metrics(scrub)
        if more_metrics is not None:  # the job worker's, where this process runs one (server.py)
            lines += more_metrics()
        return 200, "\n".join(lines) + "\n"

    verifier = None if settings.auth == "none" else SigV4Verifier(domain.keys.lookup, settings.region)
    registry = OPERATIONS.bind(domain, region=settings.region, account=settings.account_id)
    if settings.ingest == "sync":
        registry = testing.synchronous_jobs(registry, domain)
    limiter = None
    if settings.emulate_quotas:
        limiter = RateLimiter({**registry.quota_rates(), **parse_overrides(settings.quota_overrides)})
    cache = ResponseCache(domain.db.data_version) if settings.response_cache else None
    routes: dict[str, InternalRoute] = {"/_seqstore/health": health, "/metrics": metrics_route}
    faults = None
    if settings.testing:  # never by default: these routes erase everything
        if not settings.testing_token:
            raise ValueError("testing mode needs a testing token (SEQSTORE_TESTING_TOKEN)")
        faults = Faults()
        routes.update(testing.control_routes(domain, faults, settings.testing_token, limiter, cache))
    policies = Policies(
        verifier=verifier,
        rate_limiter=limiter,
        concurrency_limiter=ConcurrencyLimiter({uploads.PART_UPLOADS: settings.max_concurrent_parts}),
        response_cache=cache,
        faults=faults,
        metrics=metrics,
    )
    lifecycle = Lifecycle(routes, on_startup=on_startup, on_shutdown=shutdown)
    return Dispatcher(registry, policies, lifecycle)


def scrub_metrics(scrub: dict[str, Any]) -> list[str]:
    """The background scrub's (docs/operations.md, "Background scrub"), from the database: the same
    in every API process, whichever worker scrubs."""
    lines = gauge("seqstore_scrub_findings", "Open findings of the background scrub, by kind of subject.",
                  {(("kind", kind.replace(" ", "_")),): n for kind, n in scrub["findings"].items()})  # fmt: skip
    for name, key, what in (
        ("seqstore_scrub_subjects_total", "subjects", "Read sets and references the background scrub checked."),
        ("seqstore_scrub_bytes_total", "bytes", "Stored bytes the background scrub read."),
        ("seqstore_scrub_passes_total", "passes", "Complete passes of the background scrub."),
    ):
        lines += counter(name, what, {(): scrub[key]})
    lines += gauge("seqstore_scrub_running", "1 while a background scrub pass is under way.",
                   {(): int(scrub["running"])})  # fmt: skip
    if scrub["completed"] is not None:  # absent until a first pass completes
        lines += gauge("seqstore_scrub_last_pass_completed_timestamp_seconds",
                       "When the last complete pass of the background scrub ended (Unix time).",
                       {(): scrub["completed"].timestamp()})  # fmt: skip
    return lines

"""Assemble the ASGI application from its parts."""

from __future__ import annotations

import logging
from typing import Any

from ..blobs import open_blob_store
from ..config import Settings
from ..db.engine import Database
from ..jobs.runners import build_worker, recover
from ..protocol.auth import AccessKey, SigV4Verifier
from ..protocol.cache import ResponseCache
from ..protocol.dispatch import Dispatcher, Lifecycle, Policies
from ..protocol.operations import Registry
from ..protocol.quotas import ConcurrencyLimiter, RateLimiter, parse_overrides
from ..store.access_keys import AccessKeys, load_master_key
from ..store.context import StoreContext
from . import read_set_jobs, read_sets, references, s3_access, sequence_stores, tags, uploads

log = logging.getLogger("seqstore")

API_MODULES = (sequence_stores, read_sets, uploads, read_set_jobs, references, s3_access, tags)
# Every operation this server answers, as each module declares it.
OPERATIONS = Registry(operation for module in API_MODULES for operation in module.OPERATIONS)


def build_store(settings: Settings) -> StoreContext:
    """The service layer on the configured database and blob store (schema migrated)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url())
    db.migrate()
    env_key = None
    if settings.access_key_id and settings.secret_access_key:
        env_key = AccessKey(settings.access_key_id, settings.secret_access_key, name="environment")
    keys = AccessKeys(db, load_master_key(settings.data_dir), env_key)
    blobs = open_blob_store(settings)
    blobs.check()
    return StoreContext(settings, db, blobs, keys)


def create_app(store: StoreContext, *, job_threads: int = 0) -> Dispatcher:
    """The ASGI application serving the storage API on `store`, with `job_threads` job worker
    threads in this process (0: jobs are left to `seqstore worker` processes). Requests must be signed with
    SigV4 unless the settings say `auth = none`."""
    settings = store.settings

    def health() -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok", "service": "seqstore"}

    worker = build_worker(store, job_threads) if job_threads else None

    def startup() -> None:
        recover(store)
        if worker is not None:
            worker.start()

    def shutdown() -> None:
        if worker is not None:
            worker.stop()
        store.db.dispose()

    verifier = None if settings.auth == "none" else SigV4Verifier(store.keys.lookup, settings.region)
    registry = OPERATIONS.bind(store, region=settings.region, account=settings.account_id)
    limiter = None
    if settings.emulate_quotas:
        limiter = RateLimiter({**registry.quota_rates(), **parse_overrides(settings.quota_overrides)})
    policies = Policies(
        verifier=verifier,
        rate_limiter=limiter,
        concurrency_limiter=ConcurrencyLimiter({uploads.PART_UPLOADS: settings.max_concurrent_parts}),
        response_cache=ResponseCache(store.db.data_version) if settings.response_cache else None,
    )
    lifecycle = Lifecycle({"/_seqstore/health": health}, on_startup=startup, on_shutdown=shutdown)
    return Dispatcher(registry, policies, lifecycle)


def app_from_environment() -> Dispatcher:
    """The application as configured by SEQSTORE_* variables: the factory each API process of
    `seqstore serve --workers N` builds (uvicorn imports it by name in every process)."""
    settings = Settings()
    store = build_store(settings)
    store.keys.check_master_key()
    return create_app(store, job_threads=settings.concurrency)

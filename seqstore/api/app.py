"""Assemble the ASGI application from its parts."""

from __future__ import annotations

import functools
import logging
from typing import Any

from ..blobs import open_blob_store
from ..config import Settings
from ..db.engine import Database
from ..jobs.runners import build_worker, recover
from ..protocol.auth import AccessKey, SigV4Verifier
from ..protocol.cache import ResponseCache
from ..protocol.dispatch import Dispatcher
from ..protocol.quotas import DEFAULT_RATES, ConcurrencyLimiter, RateLimiter, parse_overrides
from ..store.access_keys import AccessKeys, load_master_key
from ..store.context import StoreContext
from . import read_set_jobs, read_sets, references, s3_access, sequence_stores, tags, uploads

log = logging.getLogger("seqstore")

HANDLER_MODULES = (sequence_stores, read_sets, uploads, read_set_jobs, references, s3_access, tags)
# Reads whose answer is a function of the database alone (no clock, no blob store, no caller), so
# it can be reused until the next commit to the database (protocol/cache.py).
CACHEABLE_READS = (
    "GetSequenceStore",
    "ListSequenceStores",
    "GetReferenceStore",
    "ListReferenceStores",
    "GetReadSetMetadata",  # what pipelines poll while a read set is ingested
    "GetReferenceMetadata",
    "ListReadSets",
    "ListReferences",
)


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


def resource_arn(store: StoreContext, operation: str, labels: dict[str, str]) -> str | None:
    """The ARN of the resource a request names, for the audit log."""
    arns = store.arns
    if "resourceArn" in labels or "s3AccessPointArn" in labels:
        return labels.get("resourceArn") or labels.get("s3AccessPointArn")
    if "sequenceStoreId" in labels:
        if operation in ("GetReadSetMetadata", "GetReadSet") and "id" in labels:
            return arns.read_set(labels["sequenceStoreId"], labels["id"])
        return arns.sequence_store(labels["sequenceStoreId"])
    if "referenceStoreId" in labels:
        if operation in ("GetReferenceMetadata", "GetReference", "DeleteReference") and "id" in labels:
            return arns.reference(labels["referenceStoreId"], labels["id"])
        return arns.reference_store(labels["referenceStoreId"])
    if "id" in labels:
        return (
            arns.sequence_store(labels["id"])
            if "SequenceStore" in operation
            else arns.reference_store(labels["id"])
        )
    return None


def create_app(store: StoreContext, *, job_threads: int = 0) -> Dispatcher:
    """The ASGI application serving the storage API on `store`, with `job_threads` job worker
    threads in this process (0: jobs are left to `seqstore worker` processes). Requests must be signed with
    SigV4 unless the settings say `auth = none`."""
    handlers: dict[str, Any] = {}
    for module in HANDLER_MODULES:
        for operation, function in module.HANDLERS.items():
            handlers[operation] = functools.partial(function, store)

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

    verifier = (
        None if store.settings.auth == "none" else SigV4Verifier(store.keys.lookup, store.settings.region)
    )
    limiter = None
    if store.settings.emulate_quotas:
        limiter = RateLimiter({**DEFAULT_RATES, **parse_overrides(store.settings.quota_overrides)})
    return Dispatcher(
        handlers,
        internal_routes={"/_seqstore/health": health},
        on_startup=startup,
        on_shutdown=shutdown,
        verifier=verifier,
        resource_of=functools.partial(resource_arn, store),
        rate_limiter=limiter,
        concurrency_limiter=ConcurrencyLimiter({"UploadReadSetPart": store.settings.max_concurrent_parts}),
        response_cache=(
            ResponseCache(store.db.data_version, CACHEABLE_READS) if store.settings.response_cache else None
        ),
    )


def app_from_environment() -> Dispatcher:
    """The application as configured by SEQSTORE_* variables: the factory each API process of
    `seqstore serve --workers N` builds (uvicorn imports it by name in every process)."""
    settings = Settings()
    store = build_store(settings)
    store.keys.check_master_key()
    return create_app(store, job_threads=settings.concurrency)

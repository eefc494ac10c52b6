"""The ASGI application of the storage API on a domain: its handlers, auth, limits and cache."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from ..protocol.auth import SigV4Verifier
from ..protocol.cache import ResponseCache
from ..protocol.dispatch import Dispatcher
from ..protocol.quotas import DEFAULT_RATES, ConcurrencyLimiter, RateLimiter, parse_overrides
from ..store.domain import Domain
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


def resource_arn(domain: Domain, operation: str, labels: dict[str, str]) -> str | None:
    """The ARN of the resource a request names, for the audit log."""
    arns = domain.arns
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


def create_app(
    domain: Domain,
    *,
    on_startup: Callable[[], None] = lambda: None,
    on_shutdown: Callable[[], None] = lambda: None,
) -> Dispatcher:
    """The ASGI application serving the storage API on `domain`, calling `on_startup` and
    `on_shutdown` (seqstore/server.py starts and stops the job worker there; the database is
    disposed of after `on_shutdown`). Requests must be signed with SigV4 unless the settings say
    `auth = none`."""
    handlers: dict[str, Any] = {}
    for module in HANDLER_MODULES:
        for operation, function in module.HANDLERS.items():
            handlers[operation] = functools.partial(function, domain)

    def health() -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok", "service": "seqstore"}

    def shutdown() -> None:
        on_shutdown()
        domain.db.dispose()

    verifier = (
        None if domain.settings.auth == "none" else SigV4Verifier(domain.keys.lookup, domain.settings.region)
    )
    limiter = None
    if domain.settings.emulate_quotas:
        limiter = RateLimiter({**DEFAULT_RATES, **parse_overrides(domain.settings.quota_overrides)})
    return Dispatcher(
        handlers,
        internal_routes={"/_seqstore/health": health},
        on_startup=on_startup,
        on_shutdown=shutdown,
        verifier=verifier,
        resource_of=functools.partial(resource_arn, domain),
        rate_limiter=limiter,
        concurrency_limiter=ConcurrencyLimiter({"UploadReadSetPart": domain.settings.max_concurrent_parts}),
        response_cache=(
            ResponseCache(domain.db.data_version, CACHEABLE_READS) if domain.settings.response_cache else None
        ),
    )

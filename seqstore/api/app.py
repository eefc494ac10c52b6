"""Assemble the ASGI application from its parts."""

from __future__ import annotations

import functools
import logging
from typing import Any

from ..blobs.local import LocalBlobStore
from ..config import Settings
from ..db.engine import Database
from ..jobs.runners import build_worker, recover
from ..protocol.dispatch import Dispatcher
from ..store.context import StoreContext
from . import read_set_jobs, read_sets, references, sequence_stores, tags, uploads

log = logging.getLogger("seqstore")

HANDLER_MODULES = (sequence_stores, read_sets, uploads, read_set_jobs, references, tags)


def build_store(settings: Settings) -> StoreContext:
    """The service layer on the configured database and blob store (schema migrated)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url())
    db.migrate()
    return StoreContext(settings, db, LocalBlobStore(settings.blob_dir))


def create_app(store: StoreContext, *, workers: int = 0) -> Dispatcher:
    """The ASGI application serving the storage API on `store`, with `workers` job threads in
    this process (0: jobs are left to `seqstore worker` processes)."""
    handlers: dict[str, Any] = {}
    for module in HANDLER_MODULES:
        for operation, function in module.HANDLERS.items():
            handlers[operation] = functools.partial(function, store)

    def health() -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok", "service": "seqstore"}

    worker = build_worker(store, workers) if workers else None

    def startup() -> None:
        recover(store)
        if worker is not None:
            worker.start()

    def shutdown() -> None:
        if worker is not None:
            worker.stop()
        store.db.dispose()

    return Dispatcher(
        handlers,
        internal_routes={"/_seqstore/health": health},
        on_startup=startup,
        on_shutdown=shutdown,
    )

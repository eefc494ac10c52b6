"""What the Start/Get/List calls of every job kind share: queue a job idempotently, read one
with its per-source items, page through a store's jobs of one kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from ..db import schema as t
from ..db.engine import Database
from ..errors import ResourceNotFoundException
from ..queue import enqueue
from .common import created_between, fetch_page, find_retry, page_time, request_hash

JOB_SUBMITTED = "The job is submitted and will start soon."
ITEM_QUEUED = "The source is queued for the job."


def submit(
    db: Database,
    connection: Connection,
    kind: str,
    store_id: str,
    params: dict[str, Any],
    items: list[dict[str, Any]],
    what: str,
    **fields: Any,
) -> Any:
    """Queue a job (SUBMITTED, its items NOT_STARTED) and return its row; a retry with the same
    clientToken and input returns the job it created."""
    existing = find_retry(db, connection, t.jobs, params, what, store_id=store_id, kind=kind)
    if existing is not None:
        return existing
    job_id = enqueue(
        connection,
        kind,
        store_id,
        {},
        items=items,
        item_message=ITEM_QUEUED,
        status_message=JOB_SUBMITTED,
        client_token=params.get("clientToken"),
        request_hash=request_hash(params),
        **fields,
    )
    return connection.execute(select(t.jobs).where(t.jobs.c.id == job_id)).one()


def get_job(
    connection: Connection, kind: str, store_id: str, job_id: str, what: str
) -> tuple[Any, list[Any]]:
    """A job of `kind` in the store and its items in order, or ResourceNotFoundException."""
    row = connection.execute(
        select(t.jobs).where(t.jobs.c.id == job_id, t.jobs.c.store_id == store_id, t.jobs.c.kind == kind)
    ).first()
    if row is None:
        raise ResourceNotFoundException(f"No {what} {job_id} in store {store_id}")
    items = connection.execute(
        select(t.job_items).where(t.job_items.c.job_id == job_id).order_by(t.job_items.c.position)
    ).all()
    return row, list(items)


def list_jobs(
    connection: Connection, kind: str, store_id: str, params: dict[str, Any]
) -> tuple[Sequence[Any], str | None]:
    """One page of a store's jobs of `kind`, filtered by status and creation time."""
    flt = params.get("filter") or {}
    c = t.jobs.c
    query = select(t.jobs).where(c.store_id == store_id, c.kind == kind)
    if "status" in flt:
        query = query.where(c.status == flt["status"])
    query = created_between(query, c.creation_time, flt)
    scope = {"store": store_id, "kind": kind, "filter": flt}
    # ix_jobs_store_kind_created serves a list bounded by creation time.
    return fetch_page(connection, query, t.jobs, params, scope, time=page_time(flt, c.creation_time))

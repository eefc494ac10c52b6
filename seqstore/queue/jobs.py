"""The durable work queue: rows of the `jobs` table, claimed with a lease.

A job is `runnable` until it reaches a final status. A worker claims the oldest runnable job
whose lease is free or expired, and renews the lease while it works; if the worker dies, the
lease runs out and another claim picks the job up again. Runners must therefore be idempotent:
every step checks what an earlier attempt already did."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from ..db import schema as t
from ..db.engine import Database
from ..db.rows import insert_with_new_id, now

LEASE_SECONDS = 60
MAX_ATTEMPTS = 5


def new_owner() -> str:
    """A lease owner name that says which host and process holds the lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_is_dead(owner: str) -> bool:
    """Whether a lease owner (`new_owner()`) is a process of this host that no longer runs."""
    owner_host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return owner_host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid))


def release_dead_leases(db: Database) -> int:
    """Free leases held by processes of this host that no longer run (a server killed and
    started again need not wait for its old leases to expire); return how many were freed."""
    with db.write() as connection:
        owners = {
            row.lease_owner
            for row in connection.execute(
                select(t.jobs.c.lease_owner).where(
                    t.jobs.c.runnable.is_(True), t.jobs.c.lease_owner.is_not(None)
                )
            )
        } | {
            row.lease_owner
            for row in connection.execute(
                select(t.job_items.c.lease_owner)
                .where(t.job_items.c.lease_owner.is_not(None))
                .distinct()
            )
        }
        dead = [owner for owner in owners if owner_is_dead(owner)]
        if not dead:
            return 0
        result = connection.execute(
            update(t.jobs).where(t.jobs.c.lease_owner.in_(dead)).values(lease_owner=None, lease_expires=None)
        )
        connection.execute(
            update(t.job_items)
            .where(t.job_items.c.lease_owner.in_(dead))
            .values(lease_owner=None, lease_expires=None)
        )
        return int(result.rowcount)


def enqueue(
    connection: Connection,
    kind: str,
    store_id: str,
    params: dict[str, Any],
    *,
    status: str = "SUBMITTED",
    items: list[dict[str, Any]] | None = None,
    item_message: str | None = None,
    **fields: Any,
) -> str:
    """Add a runnable job (and its per-source items, NOT_STARTED with `item_message`) inside the
    caller's transaction; return its id."""
    timestamp = now()

    values = {
        "kind": kind,
        "store_id": store_id,
        "status": status,
        "params": params,
        "runnable": True,
        "attempts": 0,
        "creation_time": timestamp,
        "update_time": timestamp,
        **fields,
    }
    job_id = insert_with_new_id(connection, t.jobs, values)
    if items:
        connection.execute(
            insert(t.job_items),
            [
                {
                    "job_id": job_id,
                    "position": i,
                    "source": item,
                    "status": "NOT_STARTED",
                    "status_message": item_message,
                }
                for i, item in enumerate(items)
            ],
        )
    return job_id


def claim(
    db: Database, owner: str, kinds: tuple[str, ...] | None = None, lease_seconds: float = LEASE_SECONDS
) -> Any | None:
    """Take the oldest runnable job whose lease is free or expired; return its row, or None."""
    timestamp = now()
    c = t.jobs.c
    query = (
        select(t.jobs)
        .where(c.runnable.is_(True), or_(c.lease_expires.is_(None), c.lease_expires < timestamp))
        .order_by(c.seq)
        .limit(1)
    )
    if kinds:
        query = query.where(c.kind.in_(kinds))
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    with db.write() as connection:
        row = connection.execute(query).first()
        if row is None:
            return None
        connection.execute(
            update(t.jobs)
            .where(c.id == row.id)
            .values(
                lease_owner=owner,
                lease_expires=timestamp + timedelta(seconds=lease_seconds),
                attempts=c.attempts + 1,
            )
        )
        return connection.execute(select(t.jobs).where(c.id == row.id)).first()


def renew(db: Database, job_id: str, owner: str, lease_seconds: float = LEASE_SECONDS) -> bool:
    """Extend a lease this worker holds; False when it was lost to another worker."""
    with db.write() as connection:
        result = connection.execute(
            update(t.jobs)
            .where(t.jobs.c.id == job_id, t.jobs.c.lease_owner == owner)
            .values(lease_expires=now() + timedelta(seconds=lease_seconds))
        )
        return bool(result.rowcount)


def finish(connection: Connection, job_id: str, status: str, message: str | None = None) -> None:
    """Give a job its final status; it is no longer runnable."""
    timestamp = now()
    connection.execute(
        update(t.jobs)
        .where(t.jobs.c.id == job_id)
        .values(
            status=status,
            status_message=message,
            runnable=False,
            lease_owner=None,
            lease_expires=None,
            completion_time=timestamp,
            update_time=timestamp,
        )
    )


def set_status(connection: Connection, job_id: str, status: str, message: str | None = None) -> None:
    connection.execute(
        update(t.jobs)
        .where(t.jobs.c.id == job_id)
        .values(status=status, status_message=message, update_time=now())
    )


def finish_job(db: Database, job_id: str, status: str, message: str | None = None) -> None:
    """`finish` in a transaction of its own."""
    with db.write() as connection:
        finish(connection, job_id, status, message)


def set_job_status(db: Database, job_id: str, status: str, message: str | None = None) -> None:
    """`set_status` in a transaction of its own."""
    with db.write() as connection:
        set_status(connection, job_id, status, message)


def final_status(db: Database, job_id: str) -> str | None:
    """The status a job ended with; None while it is still runnable (or has no row)."""
    with db.read() as connection:
        return connection.execute(
            select(t.jobs.c.status).where(t.jobs.c.id == job_id, t.jobs.c.runnable.is_(False))
        ).scalar()


def depth(db: Database) -> dict[str, int]:
    """Runnable (queued or running) jobs, by kind."""
    with db.read() as connection:
        rows = connection.execute(
            select(t.jobs.c.kind, func.count()).where(t.jobs.c.runnable.is_(True)).group_by(t.jobs.c.kind)
        ).all()
    return {kind: int(count) for kind, count in rows}

"""The per-source items of a job (an import's sources, an export's read sets): claimed one at a
time with a lease of their own, by the worker that runs the job and by idle workers helping it,
so one job of many sources spreads over every worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from ..db import schema as t
from ..db.engine import Database
from ..db.rows import now
from .jobs import LEASE_SECONDS, finish

FINAL_ITEM_STATUSES = ("FINISHED", "FAILED")
# Job and item messages are at most 127 characters in the model.
MAX_MESSAGE = 127


def short(message: str) -> str:
    """A message cut to the length the model allows a job's or an item's statusMessage."""
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def _free_items(timestamp: Any) -> tuple[Any, Any]:
    """The conditions of a job item that is unfinished and that no live worker holds."""
    c = t.job_items.c
    return c.status.not_in(FINAL_ITEM_STATUSES), or_(c.lease_expires.is_(None), c.lease_expires < timestamp)


def _item(job_id: str, position: int) -> Any:
    c = t.job_items.c
    return update(t.job_items).where(c.job_id == job_id, c.position == position)


def claim_item(db: Database, job_id: str, owner: str, lease_seconds: float = LEASE_SECONDS) -> Any | None:
    """Take the first unfinished item of a job that no live worker holds, with a lease; return
    its row as it was before the claim (so a runner sees that an earlier attempt began it), or None."""
    timestamp = now()
    c = t.job_items.c
    query = (
        select(t.job_items)
        .where(c.job_id == job_id, *_free_items(timestamp))
        .order_by(c.position)
        .limit(1)
    )
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    with db.write() as connection:
        row = connection.execute(query).first()
        if row is not None:
            connection.execute(
                _item(job_id, row.position).values(
                    lease_owner=owner, lease_expires=timestamp + timedelta(seconds=lease_seconds)
                )
            )
        return row


def set_item(db: Database, job_id: str, position: int, status: str, message: str | None) -> None:
    """Record an item's status and message; a final status gives up its lease."""
    values: dict[str, Any] = {"status": status, "status_message": short(message) if message else None}
    if status in FINAL_ITEM_STATUSES:
        values.update(lease_owner=None, lease_expires=None)
    with db.write() as connection:
        connection.execute(_item(job_id, position).values(**values))


def get_item(connection: Connection, job_id: str, position: int) -> Any:
    """An item's row as it is now."""
    c = t.job_items.c
    return connection.execute(select(t.job_items).where(c.job_id == job_id, c.position == position)).one()


def current(db: Database, job_id: str, position: int) -> Any:
    """`get_item` in a transaction of its own."""
    with db.read() as connection:
        return get_item(connection, job_id, position)


def remember_result(db: Database, job_id: str, position: int, result_id: str | None) -> None:
    """`set_item_result` in a transaction of its own."""
    with db.write() as connection:
        set_item_result(connection, job_id, position, result_id)


def set_item_result(connection: Connection, job_id: str, position: int, result_id: str | None) -> None:
    """Remember what an item created (its read set or reference id), inside the caller's
    transaction, so that an attempt after a crash picks it up again."""
    connection.execute(_item(job_id, position).values(result_id=result_id))


def unfinished_items(db: Database, job_id: str) -> int:
    with db.read() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(t.job_items)
                .where(t.job_items.c.job_id == job_id, t.job_items.c.status.not_in(FINAL_ITEM_STATUSES))
            ).scalar_one()
        )


def shared_job(db: Database, kinds: tuple[str, ...]) -> Any | None:
    """The oldest job of `kinds` that a live worker runs and that has an item nobody holds: an idle
    worker helps with it, so one job's items spread over every worker."""
    timestamp = now()
    c, i = t.jobs.c, t.job_items.c
    free_item = select(i.position).where(i.job_id == c.id, *_free_items(timestamp)).exists()
    with db.read() as connection:
        return connection.execute(
            select(t.jobs)
            .where(c.runnable.is_(True), c.kind.in_(kinds), c.lease_expires >= timestamp, free_item)
            .order_by(c.seq)
            .limit(1)
        ).first()


def renew_items(db: Database, owner: str, lease_seconds: float = LEASE_SECONDS) -> None:
    """Extend the leases of every unfinished item this worker holds."""
    with db.write() as connection:
        connection.execute(
            update(t.job_items)
            .where(t.job_items.c.lease_owner == owner, t.job_items.c.status.not_in(FINAL_ITEM_STATUSES))
            .values(lease_expires=now() + timedelta(seconds=lease_seconds))
        )


def fail_unfinished_items(connection: Connection, job_id: str, message: str) -> list[str]:
    """Fail every item of a job that has not finished (the job cannot go on); return the ids the
    items had created (read sets of an import), which the caller may have to fail too."""
    c = t.job_items.c
    created = [
        row.result_id
        for row in connection.execute(
            select(c.result_id).where(c.job_id == job_id, c.result_id.is_not(None))
        )
    ]
    connection.execute(
        update(t.job_items)
        .where(c.job_id == job_id, c.status.not_in(FINAL_ITEM_STATUSES))
        .values(status="FAILED", status_message=short(message))
    )
    return created


def finish_from_items(db: Database, job_id: str) -> None:
    """Give a job whose items all ended its final status: COMPLETED, FAILED when every item
    failed, else COMPLETED_WITH_FAILURES, each with the message the service shows."""
    with db.write() as connection:
        statuses = [
            row.status
            for row in connection.execute(select(t.job_items.c.status).where(t.job_items.c.job_id == job_id))
        ]
        failed = statuses.count("FAILED")
        if failed == 0:
            finish(connection, job_id, "COMPLETED", "The job completed successfully.")
        elif failed == len(statuses):
            finish(connection, job_id, "FAILED", short(f"All {failed} sources failed; see each source's statusMessage."))
        else:
            finish(
                connection,
                job_id,
                "COMPLETED_WITH_FAILURES",
                short(f"{failed} of {len(statuses)} sources failed; see each source's statusMessage."),
            )


def unfinished_sources(connection: Connection, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(job id, source) of every item not yet ended of the runnable jobs of `kind`."""
    i, j = t.job_items.c, t.jobs.c
    found = connection.execute(
        select(i.job_id, i.source)
        .join(t.jobs, j.id == i.job_id)
        .where(j.kind == kind, j.runnable, i.status.not_in(FINAL_ITEM_STATUSES))
    ).all()
    return [(row.job_id, row.source or {}) for row in found]

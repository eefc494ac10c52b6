"""Testing mode's reset and its waits on the queue (docs/testing.md): every resource of the API
gone in one transaction, with their blobs; and a wait for the jobs queued after a point to end,
for `ingest = sync`. Access keys are the server's configuration, not API resources: they stay."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, text

from ..db import schema as t
from ..db.rows import now

if TYPE_CHECKING:
    from ..blobs import BlobStore
    from ..db.engine import Database

# The tables of API resources and jobs, children first (every foreign key points up this list).
KEPT_TABLES = {t.access_keys.name}
RESET_TABLES = tuple(table for table in reversed(t.metadata.sorted_tables) if table.name not in KEPT_TABLES)
# The top-level blob prefixes: an account's stores, archived files, upload parts.
BLOB_PREFIXES = ("archive", "uploads")
POLL_SECONDS = 0.005


def last_job(db: Database) -> int:
    """The `seq` of the newest job (0 when there is none): jobs queued later have a greater one."""
    with db.read() as connection:
        return int(connection.execute(select(func.coalesce(func.max(t.jobs.c.seq), 0))).scalar_one())


def runnable_jobs(db: Database, after: int = 0, held_only: bool = False) -> int:
    """How many jobs queued after `after` (a `last_job()`) have not reached a final status (of
    those only the ones a live worker holds, when `held_only`)."""
    query = select(func.count()).select_from(t.jobs).where(t.jobs.c.runnable.is_(True), t.jobs.c.seq > after)
    if held_only:
        query = query.where(t.jobs.c.lease_owner.is_not(None), t.jobs.c.lease_expires > now())
    with db.read() as connection:
        return int(connection.execute(query).scalar_one())


def wait_for_jobs(db: Database, after: int = 0, timeout: float = 600.0, held_only: bool = False) -> bool:
    """Wait until every job queued after `after` (held by a worker, when `held_only`) has ended;
    False if some still run at `timeout`."""
    deadline = time.monotonic() + timeout
    delay = POLL_SECONDS
    while runnable_jobs(db, after, held_only):
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)
    return True


def erase_everything(db: Database, blobs: BlobStore, account_id: str) -> None:
    """Delete every row of every resource table in one transaction (keyset counters restart),
    then every blob of the account."""
    with db.write() as connection:
        if db.is_sqlite:
            for table in RESET_TABLES:
                connection.execute(delete(table))
            has_sequences = connection.execute(
                text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
            ).first()
            if has_sequences:
                connection.execute(text("DELETE FROM sqlite_sequence"))
        else:
            names = ", ".join(f'"{table.name}"' for table in RESET_TABLES)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    for prefix in (account_id, *BLOB_PREFIXES):
        blobs.delete_prefix(prefix)

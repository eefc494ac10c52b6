"""Many ACTIVE read sets at once, for filling a store in bulk (bench/scale.py): the rows, files
and tags that ReadSetLifecycle's insert_processing then mark_active would leave, written with a
few multi-row statements instead of ~6 statements per read set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from ..db import schema as t
from ..db.rows import new_id, now
from . import tags
from .arns import Arns
from .read_set_lifecycle import Analysis, active_values, file_rows, processing_values
from .read_set_rows import StoredFile


@dataclass(frozen=True)
class IngestedReadSet:
    """One read set for `insert_active_many`: what `insert_processing` takes (`source` is an
    upload row or a NewReadSet) and what `mark_active` takes."""

    source: Any
    creation_type: str
    creation_job_id: str
    analysis: Analysis
    files: list[StoredFile]


def insert_active_many(
    connection: Connection, arns: Arns, part_size: int, store: Any, items: Sequence[IngestedReadSet]
) -> list[str]:
    """Insert these read sets ACTIVE in `store`; update_time and last_access_time equal
    creation_time. Returns the new ids, in order."""
    if not items:
        return []
    timestamp = now()
    values = [
        processing_values(store, item.source, item.creation_type, item.creation_job_id, timestamp)
        | active_values(item.analysis, timestamp)
        for item in items
    ]
    ids = _insert_with_new_ids(connection, t.read_sets, values)
    files = [
        row
        for read_set_id, item in zip(ids, items, strict=True)
        for row in file_rows(read_set_id, item.files, part_size)
    ]
    if files:
        connection.execute(insert(t.read_set_files), files)
    for read_set_id, item in zip(ids, items, strict=True):
        if item.source.tags:
            tags.put(connection, arns.read_set(store.id, read_set_id), item.source.tags)
    return ids


def _insert_with_new_ids(
    connection: Connection, table: Any, rows: list[dict[str, Any]], attempts: int = 8
) -> list[str]:
    """`insert_with_new_id` for many rows in one executemany: fresh random ids, those already
    taken replaced before inserting, and the whole insert retried under new ids (in a savepoint)
    if a concurrent writer took one in between. Returns the ids, in the order of `rows`."""
    for attempt in range(attempts):
        ids: list[str] = []
        chosen: set[str] = set()
        while len(ids) < len(rows):
            candidates = {new_id() for _ in range(len(rows) - len(ids))} - chosen
            taken: set[str] = set()
            pending = sorted(candidates)
            for start in range(0, len(pending), 1000):
                chunk = pending[start : start + 1000]
                taken.update(connection.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars())
            fresh = candidates - taken
            chosen |= candidates
            ids.extend(fresh)
        try:
            with connection.begin_nested():
                connection.execute(
                    insert(table), [{**row, "id": row_id} for row_id, row in zip(ids, rows, strict=True)]
                )
            return ids
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")

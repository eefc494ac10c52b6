"""A reference store's files as S3 objects (docs/s3.md, "Objects"): the rows s3_objects.py makes
objects of. A reference file's key is `{account}/referenceStore/{storeId}/reference/
{referenceId}/{file name}`, the blob key its bytes are stored under (`reference_files.blob_key`,
as the reference import names it), so a key is looked up by that column, never moved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from ..db import schema as t
from ..db.rows import record, records

COLUMNS = (
    t.references.c.id,
    t.references.c.status,
    t.references.c.creation_time,
    t.references.c.md5,
    t.reference_files.c.file,
    t.reference_files.c.blob_key,
    t.reference_files.c.content_length,
    t.reference_files.c.part_size,
)
JOIN = t.references.join(t.reference_files, t.reference_files.c.reference_id == t.references.c.id)
_STORE = select(t.reference_stores.c.id, t.reference_stores.c.s3_alias_token).where(
    t.reference_stores.c.id == bindparam("store")
)
_FILE = (
    select(*COLUMNS)
    .select_from(JOIN)
    .where(
        t.references.c.id == bindparam("reference"),
        t.references.c.reference_store_id == bindparam("store"),
        t.reference_files.c.blob_key == bindparam("key"),
    )
)


def store(connection: Connection, store_id: str) -> Any | None:
    """The reference store's id and alias token, or None."""
    return record(connection.execute(_STORE, {"store": store_id}))


def file(connection: Connection, store_id: str, reference_id: str, key: str) -> Any | None:
    """The reference file stored under `key`, whatever the reference's status, or None."""
    return record(connection.execute(_FILE, {"reference": reference_id, "store": store_id, "key": key}))


def active_after(
    connection: Connection, store_id: str, first_id: str, start_after: str, limit: int, collate: bool
) -> list[Any]:
    """Up to `limit` files of ACTIVE references of the store from reference `first_id` on, with
    keys greater than `start_after`, in key order (`collate`: PostgreSQL, compared as bytes)."""
    c = t.references.c
    key = t.reference_files.c.blob_key
    if collate:
        key = key.collate("C")  # type: ignore[assignment]
    query = (
        select(*COLUMNS)
        .select_from(JOIN)
        .where(
            and_(c.reference_store_id == store_id, c.status == "ACTIVE", c.id >= first_id), key > start_after
        )
        .order_by(c.id, key)
        .limit(limit)
    )
    return records(connection.execute(query))

"""The rows s3_objects.py makes S3 objects of (docs/s3.md, "Objects"): the files of a store's read
sets or references, each found by the blob key its bytes are stored under (`blob_key`, the key of
the object: ingestion and the reference import name it), so a key is looked up by that column,
never moved. A read set's key is `{account}/sequenceStore/{storeId}/readSet/{readSetId}/{file
name}`; a reference's `{account}/referenceStore/{storeId}/reference/{referenceId}/{file name}`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Table, and_, bindparam, select

from ..db import schema as t
from ..db.rows import record, records


class FileRows:
    """The files of one kind of parent (read sets, references) joined to their parent's id,
    status and creation time, and the parent's `extra` columns."""

    def __init__(self, parent: Table, files: Table, link: str, store: str, extra: tuple[Column[Any], ...]) -> None:
        self.parent, self.files = parent, files
        self.store = parent.c[store]
        columns = (
            parent.c.id, parent.c.status, parent.c.creation_time, *extra,
            files.c.file, files.c.blob_key, files.c.content_length, files.c.part_size,
        )  # fmt: skip
        self.select = select(*columns).select_from(parent.join(files, files.c[link] == parent.c.id))
        self._file = self.select.where(
            parent.c.id == bindparam("parent"), self.store == bindparam("store"), files.c.blob_key == bindparam("key")
        )

    def file(self, connection: Connection, store_id: str, parent_id: str, key: str) -> Any | None:
        """The file stored under `key`, whatever its parent's status, or None."""
        return record(connection.execute(self._file, {"parent": parent_id, "store": store_id, "key": key}))

    def active_after(
        self, connection: Connection, store_id: str, first_id: str, start_after: str, limit: int, collate: bool
    ) -> list[Any]:
        """Up to `limit` files of the store's ACTIVE parents from parent `first_id` on, with keys
        greater than `start_after`, in key order: by parent id (the key's second to last part),
        then key (`collate`: PostgreSQL, compared as bytes, as S3 orders keys)."""
        c = self.parent.c
        key = self.files.c.blob_key
        if collate:
            key = key.collate("C")  # type: ignore[assignment]
        query = (
            self.select.where(and_(self.store == store_id, c.status == "ACTIVE", c.id >= first_id), key > start_after)
            .order_by(c.id, key)
            .limit(limit)
        )
        return records(connection.execute(query))


READ_SET_FILES = FileRows(
    t.read_sets, t.read_set_files, "read_set_id", "sequence_store_id",
    (t.read_sets.c.last_access_time, t.read_sets.c.etag_source1, t.read_sets.c.etag_source2),
)  # fmt: skip
REFERENCE_FILES = FileRows(t.references, t.reference_files, "reference_id", "reference_store_id", (t.references.c.md5,))
_REFERENCE_STORE = select(t.reference_stores.c.id, t.reference_stores.c.s3_alias_token).where(
    t.reference_stores.c.id == bindparam("store")
)


def reference_store(connection: Connection, store_id: str) -> Any | None:
    """The reference store's id and alias token, or None."""
    return record(connection.execute(_REFERENCE_STORE, {"store": store_id}))

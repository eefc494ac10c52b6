"""How a read set's rows are found and named: by id, in its store, its files, where its bytes
live. Plain functions on a connection, shared by the read set API, its lifecycle and its objects."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select

from ..db import schema as t
from ..db.rows import record, records

# Built once (GetReadSetMetadata, what pipelines poll, and GetReadSet run them): a statement built
# per call costs more in SQLAlchemy's construction and cache key than its execution.
_IN_STORE = select(t.read_sets).where(
    t.read_sets.c.id == bindparam("id"), t.read_sets.c.sequence_store_id == bindparam("store")
)
_BY_ID = select(t.read_sets).where(t.read_sets.c.id == bindparam("id"))
_FILES = select(t.read_set_files).where(t.read_set_files.c.read_set_id == bindparam("read_set"))

GONE = ("DELETING", "DELETED")


@dataclass(frozen=True)
class StoredFile:
    """One file of a read set as ingestion stored it."""

    file: str  # source1, source2, index
    blob_key: str
    file_name: str
    content_length: int
    md5: str | None = None  # of the stored bytes


@dataclass(frozen=True)
class PartRange:
    """Where a GetReadSet or GetReference part lives: `length` bytes of `blob_key` from `offset`."""

    blob_key: str
    offset: int
    length: int


def in_store(connection: Connection, store_id: str, read_set_id: str) -> Any | None:
    """The read set's row if the store holds it (deleted or not), else None."""
    return record(connection.execute(_IN_STORE, {"id": read_set_id, "store": store_id}))


def by_id(connection: Connection, read_set_id: str) -> Any | None:
    return record(connection.execute(_BY_ID, {"id": read_set_id}))


def files(connection: Connection, read_set_id: str) -> list[Any]:
    return records(connection.execute(_FILES, {"read_set": read_set_id}))


def total_parts(content_length: int, part_size: int) -> int:
    return max(1, math.ceil(content_length / part_size))


def safe_file_name(name: str) -> str:
    """A read set (or reference) name made safe for an object key."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "readset"


def blob_prefix(account_id: str, store_id: str, read_set_id: str) -> str:
    """Where a read set's files live in the blob store (and in its s3Uri)."""
    return f"{account_id}/sequenceStore/{store_id}/readSet/{read_set_id}"


def archive_key(blob_key: str) -> str:
    """Where an archived file's bytes live: a colder prefix, same name."""
    return f"archive/{blob_key}"

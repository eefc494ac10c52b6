"""A sequence store's read set files, and a reference store's reference files, as S3 objects
(docs/s3.md): the bucket an access point alias names, the object a key names, the keys of a store
in order, an object's tags. Only the files of ACTIVE read sets and references are objects; a key
is `{account}/sequenceStore/{storeId}/readSet/{readSetId}/{file name}` (or `{account}/
referenceStore/{storeId}/reference/{referenceId}/{file name}`: s3_object_rows.py), the blob
key the files are stored under (so the blob layout is the key layout, in both blob backends)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..db.engine import Database
from ..db.rows import now
from ..errors import ResourceNotFoundException
from . import read_set_rows as rows
from . import s3_aliases
from .read_set_lifecycle import ReadSetLifecycle
from .read_set_objects import ReadSetObjects
from .s3_object_rows import READ_SET_FILES, REFERENCE_FILES, reference_store
from .sequence_stores import SequenceStores

# A read through S3 counts as an access for the archive clock (as GetReadSet does); noted at most
# once a minute per read set, so that a region query's many ranged GETs do not each write (once a
# tenth of the archive period where that is shorter, so that reads keep a read set ACTIVE).
ACCESS_RESOLUTION = timedelta(seconds=60)
LIST_BATCH = 1000

@dataclass(frozen=True)
class S3Object:
    """A read set file as an object: where its bytes are, and what S3 says of it."""

    key: str
    read_set_id: str  # the reference's id for a reference file
    status: str  # the read set's (or reference's): only ACTIVE ones are readable
    size: int
    part_size: int  # the omics API's part size for this file (partNumber=N reads part N)
    etag: str  # quoted, as S3 sends it
    last_modified: datetime
    last_access: datetime | None  # the read set's, as last noted (None for a reference's file)
    archivable: bool = True  # a read set's file (reads move its archive clock); False: a reference's

    @property
    def readable(self) -> bool:
        return self.status == "ACTIVE"


@dataclass(frozen=True)
class Bucket:
    store_id: str
    alias: str
    prefix: str  # `{account}/sequenceStore/{storeId}/` (`{account}/referenceStore/{storeId}/`)
    access_log_location: str | None = None  # the store's `s3AccessConfig.accessLogLocation`
    store_type: str = "SEQUENCE_STORE"  # or REFERENCE_STORE

    @property
    def files(self) -> str:
        """The key prefix of the store's files (`{prefix}readSet/`, `{prefix}reference/`)."""
        return self.prefix + ("reference/" if self.store_type == "REFERENCE_STORE" else "readSet/")


def access_resolution(archive_after_seconds: float) -> timedelta:
    """How often at most a read set's S3 reads are noted as accesses."""
    if archive_after_seconds <= 0:
        return ACCESS_RESOLUTION
    return min(ACCESS_RESOLUTION, timedelta(seconds=archive_after_seconds / 10))


def _object(row: Any) -> S3Object:
    source_etag = {"source1": row.etag_source1, "source2": row.etag_source2}.get(row.file) or ""
    return _as_object(row, source_etag, row.last_access_time, archivable=True)


def _reference_object(row: Any) -> S3Object:
    return _as_object(row, row.md5 or "", None, archivable=False)


def _as_object(row: Any, content_etag: str, last_access: datetime | None, *, archivable: bool) -> S3Object:
    # Not an MD5 of the bytes (read set ETags are of the content, not the file): a stable digest
    # in the multipart form, so that no client checks the bytes against it (docs/s3.md, "ETags").
    digest = hashlib.md5(
        f"{row.id}/{row.file}/{row.content_length}/{content_etag}".encode(), usedforsecurity=False
    ).hexdigest()
    return S3Object(
        row.blob_key,
        row.id,
        row.status,
        row.content_length,
        row.part_size,
        f'"{digest}-{rows.total_parts(row.content_length, row.part_size)}"',
        row.creation_time,
        last_access,
        archivable,
    )


class S3Objects:
    def __init__(
        self,
        db: Database,
        account_id: str,
        sequence_stores: SequenceStores,
        lifecycle: ReadSetLifecycle,
        read_set_objects: ReadSetObjects,
    ) -> None:
        self.db = db
        self.account_id = account_id
        self.sequence_stores = sequence_stores
        self.lifecycle = lifecycle
        self.read_set_objects = read_set_objects
        self.access_resolution = access_resolution(lifecycle.settings.archive_after_seconds)

    def bucket(self, name: str) -> Bucket | None:
        """The store an access point alias names, or None (no such store, or not this alias)."""
        parts = s3_aliases.parse(name)
        if parts is None or parts.account_id != self.account_id:
            return None
        with self.db.read() as connection:
            try:
                row = self.sequence_stores.require(connection, parts.store_id)
            except ResourceNotFoundException:
                row = None
            if row is not None and row.s3_alias_token == parts.token:
                prefix = s3_aliases.store_prefix(self.account_id, row.id)
                return Bucket(row.id, name, prefix + "/", row.access_log_location)
            references = reference_store(connection, parts.store_id)
        if references is None or references.s3_alias_token != parts.token:
            return None
        prefix = s3_aliases.reference_store_prefix(self.account_id, references.id)
        return Bucket(references.id, name, prefix + "/", store_type="REFERENCE_STORE")

    def find(self, bucket: Bucket, key: str) -> S3Object | None:
        """The object under `key` whatever its read set's (reference's) status (None when no file
        has that key)."""
        rest = key[len(bucket.files) :] if key.startswith(bucket.files) else ""
        read_set, _, name = rest.partition("/")
        if not read_set or not name or "/" in name:
            return None
        if bucket.store_type == "REFERENCE_STORE":  # never archived: no access to note
            with self.db.read() as connection:
                found_file = REFERENCE_FILES.file(connection, bucket.store_id, read_set, key)
            return None if found_file is None else _reference_object(found_file)
        with self.db.read() as connection:
            found = READ_SET_FILES.file(connection, bucket.store_id, read_set, key)
        return None if found is None else _object(found)

    def access_due(self, obj: S3Object) -> bool:
        """Whether a GetObject of `obj` now is to be noted for the archive clock: an ACTIVE read
        set's file whose last access is older than `access_resolution` (references are never
        archived)."""
        return obj.readable and obj.archivable and (
            obj.last_access is None or now() - obj.last_access > self.access_resolution
        )

    def note_read(self, obj: S3Object) -> None:
        """Count a GetObject of an ACTIVE object as an access of its read set, when one is due."""
        if self.access_due(obj):
            self.lifecycle.note_access_now(obj.read_set_id)

    def after(self, bucket: Bucket, start_after: str, prefix: str, limit: int = LIST_BATCH) -> list[S3Object]:
        """Up to `limit` objects of ACTIVE read sets (references) with keys greater than
        `start_after` and at least `prefix`, in key order (keys not starting with `prefix` may
        follow: the caller stops there)."""
        lower = max(start_after, prefix)
        files = bucket.files
        if lower.startswith(files):
            first_id = lower[len(files) : len(files) + 10]
        elif lower < files:
            first_id = ""
        else:
            return []  # every key sorts before `lower`
        file_rows = REFERENCE_FILES if bucket.store_type == "REFERENCE_STORE" else READ_SET_FILES
        make = _reference_object if bucket.store_type == "REFERENCE_STORE" else _object
        with self.db.read() as connection:
            found = file_rows.active_after(
                connection, bucket.store_id, first_id, start_after, limit, collate=not self.db.is_sqlite
            )
        return [make(row) for row in found]

    def tags(self, bucket: Bucket, obj: S3Object) -> dict[str, str]:
        """The object's tags: the read set's sample and subject ids and its propagated tags; none
        for a reference file (docs/s3.md, "Objects")."""
        if bucket.store_type == "REFERENCE_STORE":
            return {}
        with self.db.read() as connection:
            read_set = rows.by_id(connection, obj.read_set_id)
            return self.read_set_objects.object_tags(connection, read_set)


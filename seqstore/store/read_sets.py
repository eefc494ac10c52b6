"""Read sets: metadata, listing, part downloads, batch delete, and the state changes ingestion makes."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db import schema as t
from ..protocol.errors import (
    ConflictException,
    RangeNotSatisfiableException,
    ResourceNotFoundException,
    ValidationException,
)
from .common import created_between, fetch_page, insert_with_new_id, new_id, now, page_time, record, records
from .context import StoreContext

log = logging.getLogger("seqstore.read_sets")

# Built once (GetReadSetMetadata, what pipelines poll, and GetReadSet run them): a statement built
# per call costs more in SQLAlchemy's construction and cache key than its execution.
_BY_ID = select(t.read_sets).where(
    t.read_sets.c.id == bindparam("id"), t.read_sets.c.sequence_store_id == bindparam("store")
)
_FILES = select(t.read_set_files).where(t.read_set_files.c.read_set_id == bindparam("read_set"))

REFERENCE_ARN = re.compile(r"arn:aws:omics:([^:]+):([0-9]{12}):referenceStore/([0-9]+)/reference/([0-9]+)")
GONE = ("DELETING", "DELETED")
FILE_KEYS = {"SOURCE1": "source1", "SOURCE2": "source2", "INDEX": "index"}


@dataclass(frozen=True)
class StoredFile:
    """One file of a read set as ingestion stored it."""

    file: str  # source1, source2, index
    blob_key: str
    file_name: str
    content_length: int


@dataclass(frozen=True)
class PartRange:
    """Where GetReadSet's part lives: `length` bytes of `blob_key` from `offset`."""

    blob_key: str
    offset: int
    length: int


def safe_file_name(name: str) -> str:
    """A read set name made safe for an object key."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "readset"


class ReadSets:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    # --- references named by read sets

    def check_reference_arn(self, file_type: str, reference_arn: str | None) -> None:
        """Request-level checks of `referenceArn` (spec §4): needed for BAM and CRAM, and must
        be a reference ARN of this server."""
        if reference_arn is None:
            if file_type in ("BAM", "CRAM"):
                raise ValidationException(f"'referenceArn': required for {file_type} read sets")
            return
        match = REFERENCE_ARN.fullmatch(reference_arn)
        if match is None:
            raise ValidationException(
                f"'referenceArn': {reference_arn!r} is not a reference ARN "
                "(arn:aws:omics:REGION:ACCOUNT:referenceStore/ID/reference/ID)"
            )
        region, account = match.group(1), match.group(2)
        if (region, account) != (self.ctx.settings.region, self.ctx.settings.account_id):
            raise ValidationException(
                f"'referenceArn': {reference_arn!r} names another region or account than this server's "
                f"({self.ctx.settings.region}, {self.ctx.settings.account_id})"
            )

    # --- API form

    def describe(self, row: Any, files: list[Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": row.id,
            "arn": self.ctx.arns.read_set(row.sequence_store_id, row.id),
            "sequenceStoreId": row.sequence_store_id,
            "subjectId": row.subject_id,
            "sampleId": row.sample_id,
            "status": row.status,
            "name": row.name,
            "description": row.description,
            "fileType": row.file_type,
            "creationTime": row.creation_time,
            "referenceArn": row.reference_arn,
            "statusMessage": row.status_message,
            "creationType": row.creation_type,
            "creationJobId": row.creation_job_id,
        }
        if row.read_count is not None or row.generated_from is not None:
            result["sequenceInformation"] = {
                "totalReadCount": row.read_count,
                "totalBaseCount": row.base_count,
                "generatedFrom": row.generated_from,
                "alignment": row.alignment,
            }
        if row.etag_algorithm:
            result["etag"] = {
                "algorithm": row.etag_algorithm,
                "source1": row.etag_source1,
                "source2": row.etag_source2,
            }
        if files and row.status not in GONE:
            result["files"] = {
                f.file: {
                    "contentLength": f.content_length,
                    "partSize": f.part_size,
                    "totalParts": max(1, math.ceil(f.content_length / f.part_size)),
                    "s3Access": {"s3Uri": self.ctx.blobs.uri(f.blob_key)},
                }
                for f in files
            }
        return result

    def _row(self, connection: Connection, store_id: str, read_set_id: str) -> Any:
        row = record(connection.execute(_BY_ID, {"id": read_set_id, "store": store_id}))
        if row is None:
            self.ctx.sequence_stores.require(connection, store_id)  # which of the two is missing
            raise ResourceNotFoundException(f"Read set {read_set_id} not found in sequence store {store_id}")
        return row  # (its store exists: read_sets.sequence_store_id is a foreign key)

    @staticmethod
    def _files(connection: Connection, read_set_id: str) -> list[Any]:
        return records(connection.execute(_FILES, {"read_set": read_set_id}))

    # --- API operations

    def get_metadata(self, store_id: str, read_set_id: str) -> dict[str, Any]:
        with self.ctx.db.read() as connection:
            row = self._row(connection, store_id, read_set_id)
            return self.describe(row, self._files(connection, read_set_id))

    def list_read_sets(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id = params["sequenceStoreId"]
        flt = params.get("filter") or {}
        scope = {"store": store_id, "filter": flt}
        c = t.read_sets.c
        query = select(t.read_sets).where(c.sequence_store_id == store_id)
        query = (
            query.where(c.status == flt["status"]) if "status" in flt else query.where(c.status != "DELETED")
        )
        for member, column in (
            ("name", c.name),
            ("sampleId", c.sample_id),
            ("subjectId", c.subject_id),
            ("generatedFrom", c.generated_from),
            ("creationType", c.creation_type),
        ):
            if member in flt:
                query = query.where(column == flt[member])
        if "referenceArn" in flt:
            arn = flt["referenceArn"]
            query = query.where(c.reference_arn.is_(None) if arn == "" else c.reference_arn == arn)
        query = created_between(query, c.creation_time, flt)
        with self.ctx.db.read() as connection:
            self.ctx.sequence_stores.require(connection, store_id)
            # ix_read_sets_store_created serves a list bounded by creation time.
            rows, token = fetch_page(
                connection, query, t.read_sets, params, scope, time=page_time(flt, c.creation_time)
            )
        return {"readSets": [self.describe(r) for r in rows], "nextToken": token}

    def part_range(self, store_id: str, read_set_id: str, file: str | None, part_number: int) -> PartRange:
        """Locate part `part_number` of a file of an ACTIVE read set (and note the access)."""
        file_key = FILE_KEYS[file or "SOURCE1"]
        with self.ctx.db.write() as connection:
            row = self._row(connection, store_id, read_set_id)
            if row.status in GONE:
                raise ResourceNotFoundException(f"Read set {read_set_id} was deleted")
            if row.status != "ACTIVE":
                raise ConflictException(
                    f"Read set {read_set_id} is {row.status}; only ACTIVE read sets can be downloaded"
                    + (" (start an activation job first)" if row.status == "ARCHIVED" else "")
                )
            stored = next((f for f in self._files(connection, read_set_id) if f.file == file_key), None)
            if stored is None:
                raise ResourceNotFoundException(f"Read set {read_set_id} has no {file or 'SOURCE1'} file")
            total_parts = max(1, math.ceil(stored.content_length / stored.part_size))
            if part_number > total_parts:
                raise RangeNotSatisfiableException(
                    f"Part {part_number} is beyond the last part ({total_parts}) of {file_key}"
                )
            connection.execute(
                update(t.read_sets).where(t.read_sets.c.id == read_set_id).values(last_access_time=now())
            )
        offset = (part_number - 1) * stored.part_size
        return PartRange(stored.blob_key, offset, min(stored.part_size, stored.content_length - offset))

    def batch_delete(self, store_id: str, ids: list[str]) -> dict[str, Any]:
        errors: list[dict[str, str]] = []
        deleting: list[str] = []
        with self.ctx.db.write() as connection:
            self.ctx.sequence_stores.require(connection, store_id)
            for read_set_id in dict.fromkeys(ids):  # a repeated id is treated once
                row = connection.execute(
                    select(t.read_sets.c.status).where(
                        t.read_sets.c.id == read_set_id, t.read_sets.c.sequence_store_id == store_id
                    )
                ).first()
                if row is None or row.status in GONE:
                    errors.append(
                        {"id": read_set_id, "code": "", "message": "The specified readset does not exist."}
                    )
                elif row.status in ("PROCESSING_UPLOAD", "ACTIVATING"):
                    errors.append(
                        {
                            "id": read_set_id,
                            "code": "ConflictException",
                            "message": f"The read set is {row.status} and cannot be deleted until that ends.",
                        }
                    )
                else:
                    deleting.append(read_set_id)
            if deleting:
                connection.execute(
                    update(t.read_sets)
                    .where(t.read_sets.c.id.in_(deleting))
                    .values(status="DELETING", update_time=now())
                )
        # The bytes go after the read set left ACTIVE, so a crash here leaves it DELETING (finished
        # by recover()), never ACTIVE without its bytes.
        self.finish_deletes(store_id, deleting)
        return {"errors": errors or None}

    def finish_deletes(self, store_id: str, read_set_ids: list[str]) -> None:
        """Remove DELETING read sets' bytes, files and tags (one transaction for all of them);
        they stay visible as DELETED."""
        if not read_set_ids:
            return
        for read_set_id in read_set_ids:
            prefix = self.blob_prefix(store_id, read_set_id)
            self.ctx.blobs.delete_prefix(prefix)
            self.ctx.blobs.delete_prefix(self.archive_key(prefix))
        arns = [self.ctx.arns.read_set(store_id, read_set_id) for read_set_id in read_set_ids]
        with self.ctx.db.write() as connection:
            connection.execute(delete(t.read_set_files).where(t.read_set_files.c.read_set_id.in_(read_set_ids)))
            connection.execute(delete(t.tags).where(t.tags.c.resource_arn.in_(arns)))
            connection.execute(
                update(t.read_sets)
                .where(t.read_sets.c.id.in_(read_set_ids))
                .values(status="DELETED", update_time=now())
            )

    def recover(self) -> None:
        """Finish deletions a crash interrupted."""
        with self.ctx.db.read() as connection:
            rows = connection.execute(
                select(t.read_sets.c.id, t.read_sets.c.sequence_store_id).where(
                    t.read_sets.c.status == "DELETING"
                )
            ).all()
        for row in rows:
            self.finish_deletes(row.sequence_store_id, [row.id])

    # --- archive tier

    @staticmethod
    def archive_key(blob_key: str) -> str:
        """Where an archived file's bytes live: a colder prefix, same name."""
        return f"archive/{blob_key}"

    def move_files(self, read_set_id: str, *, archived: bool) -> None:
        """Move a read set's files to the archive prefix (`archived`) or back. Safe to repeat."""
        with self.ctx.db.read() as connection:
            files = self._files(connection, read_set_id)
        targets = []
        for stored in files:
            cold = self.archive_key(stored.blob_key)
            source, target = (stored.blob_key, cold) if archived else (cold, stored.blob_key)
            self.ctx.blobs.move(source, target)
            targets.append(target)
        self.tag_files(read_set_id, targets)  # a copy by parts does not carry object tags over

    # --- object tags (spec §14)

    def object_tags(self, connection: Connection, read_set: Any) -> dict[str, str]:
        """The tags a read set's objects carry: `omics:sampleId`, `omics:subjectId`, and the read
        set's tags whose keys the store propagates."""
        store = self.ctx.sequence_stores.require(connection, read_set.sequence_store_id)
        own = self.ctx.tags.get(connection, self.ctx.arns.read_set(read_set.sequence_store_id, read_set.id))
        tags = {"omics:sampleId": read_set.sample_id, "omics:subjectId": read_set.subject_id}
        tags.update({k: own[k] for k in store.propagated_set_level_tags or [] if k in own})
        return tags

    def tag_files(self, read_set_id: str, keys: list[str]) -> dict[str, str] | None:
        """Give these blobs of a read set its object tags as they are now (files just moved, or
        stored by ingestion before the read set becomes ACTIVE, so that a client never sees it
        ACTIVE with untagged objects); return the tags written (None on a blob store without
        object tags). After ingestion's mark, `apply_object_tags(..., written=)` catches a tag
        change made in between."""
        if not self.ctx.blobs.object_tags:
            return None
        with self.ctx.db.read() as connection:
            row = connection.execute(select(t.read_sets).where(t.read_sets.c.id == read_set_id)).first()
            if row is None:
                return None
            tags = self.object_tags(connection, row)
        self._tag_objects(read_set_id, keys, tags)
        return tags

    def apply_object_tags(self, read_set_id: str, written: dict[str, str] | None = None) -> None:
        """Write the object tags of an ACTIVE or ARCHIVED read set's files (after ingestion, a tag
        change or a move), on a blob store that has object tags; not when they are `written`
        already."""
        if not self.ctx.blobs.object_tags:
            return
        with self.ctx.db.read() as connection:
            row = connection.execute(select(t.read_sets).where(t.read_sets.c.id == read_set_id)).first()
            if row is None or row.status not in ("ACTIVE", "ARCHIVED"):
                return
            tags = self.object_tags(connection, row)
            if tags == written:
                return
            files = self._files(connection, read_set_id)
        keys = [self.archive_key(f.blob_key) if row.status == "ARCHIVED" else f.blob_key for f in files]
        self._tag_objects(read_set_id, keys, tags)

    def _tag_objects(self, read_set_id: str, keys: list[str], tags: dict[str, str]) -> None:
        """Set the tags of these blobs; a failure is logged: the bytes and the metadata stay right."""
        for key in keys:
            try:
                self.ctx.blobs.set_tags(key, tags)
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                log.warning("read set %s: could not tag %s: %s", read_set_id, key, exc)

    # --- used by uploads, imports and ingestion

    def blob_prefix(self, store_id: str, read_set_id: str) -> str:
        return f"{self.ctx.settings.account_id}/sequenceStore/{store_id}/readSet/{read_set_id}"

    def insert_processing(
        self, connection: Connection, store: Any, source: Any, *, creation_type: str, creation_job_id: str
    ) -> str:
        """Create a PROCESSING_UPLOAD read set from an upload (or import source) row; return its id."""
        values = _processing_values(store, source, creation_type, creation_job_id, now())
        read_set_id = insert_with_new_id(connection, t.read_sets, values)
        self.ctx.tags.put(connection, self.ctx.arns.read_set(store.id, read_set_id), source.tags or {})
        return read_set_id

    def mark_active(
        self,
        connection: Connection,
        read_set_id: str,
        *,
        read_count: int,
        base_count: int,
        alignment: str,
        etag_algorithm: str,
        etags: dict[str, str],
        files: list[StoredFile],
    ) -> None:
        connection.execute(delete(t.read_set_files).where(t.read_set_files.c.read_set_id == read_set_id))
        connection.execute(insert(t.read_set_files), self._file_rows(read_set_id, files))
        connection.execute(
            update(t.read_sets)
            .where(t.read_sets.c.id == read_set_id)
            .values(_active_values(read_count, base_count, alignment, etag_algorithm, etags, now()))
        )

    def insert_active_many(
        self, connection: Connection, store: Any, items: Sequence[IngestedReadSet]
    ) -> list[str]:
        """`insert_processing` then `mark_active` for many read sets at once, with a few multi-row
        statements instead of ~6 statements per read set (used to fill a store in bulk, e.g. by
        bench/scale.py). The rows, files and tags are those the two calls would leave, except that
        update_time and last_access_time equal creation_time. Returns the new ids, in order."""
        if not items:
            return []
        timestamp = now()
        rows = [
            _processing_values(store, item.source, item.creation_type, item.creation_job_id, timestamp)
            | _active_values(
                item.read_count, item.base_count, item.alignment, item.etag_algorithm, item.etags, timestamp
            )
            for item in items
        ]
        ids = _insert_with_new_ids(connection, t.read_sets, rows)
        files = [
            row
            for read_set_id, item in zip(ids, items, strict=True)
            for row in self._file_rows(read_set_id, item.files)
        ]
        if files:
            connection.execute(insert(t.read_set_files), files)
        for read_set_id, item in zip(ids, items, strict=True):
            if item.source.tags:
                self.ctx.tags.put(connection, self.ctx.arns.read_set(store.id, read_set_id), item.source.tags)
        return ids

    def _file_rows(self, read_set_id: str, files: list[StoredFile]) -> list[dict[str, Any]]:
        return [
            {
                "read_set_id": read_set_id,
                "file": f.file,
                "blob_key": f.blob_key,
                "file_name": f.file_name,
                "content_length": f.content_length,
                "part_size": self.ctx.settings.part_size,
            }
            for f in files
        ]

    @staticmethod
    def mark_failed(connection: Connection, read_set_id: str, message: str) -> None:
        connection.execute(
            update(t.read_sets)
            .where(t.read_sets.c.id == read_set_id)
            .values(status="UPLOAD_FAILED", status_message=message[:255], update_time=now())
        )


@dataclass(frozen=True)
class IngestedReadSet:
    """One read set for `ReadSets.insert_active_many`: the arguments of `insert_processing`
    (`source` is an upload or import source row) and of `mark_active`."""

    source: Any
    creation_type: str
    creation_job_id: str
    read_count: int
    base_count: int
    alignment: str
    etag_algorithm: str
    etags: dict[str, str]
    files: list[StoredFile]


def _processing_values(
    store: Any, source: Any, creation_type: str, creation_job_id: str, timestamp: datetime
) -> dict[str, Any]:
    """The columns of a new PROCESSING_UPLOAD read set (all but its id)."""
    return {
        "sequence_store_id": store.id,
        "name": source.name,
        "description": source.description,
        "subject_id": source.subject_id,
        "sample_id": source.sample_id,
        "generated_from": source.generated_from,
        "reference_arn": source.reference_arn,
        "file_type": source.source_file_type,
        "status": "PROCESSING_UPLOAD",
        "creation_type": creation_type,
        "creation_job_id": creation_job_id,
        "creation_time": timestamp,
        "update_time": timestamp,
    }


def _active_values(
    read_count: int,
    base_count: int,
    alignment: str,
    etag_algorithm: str,
    etags: dict[str, str],
    timestamp: datetime,
) -> dict[str, Any]:
    """The columns ingestion sets when a read set becomes ACTIVE."""
    return {
        "status": "ACTIVE",
        "status_message": None,
        "read_count": read_count,
        "base_count": base_count,
        "alignment": alignment,
        "etag_algorithm": etag_algorithm,
        "etag_source1": etags.get("source1"),
        "etag_source2": etags.get("source2"),
        "update_time": timestamp,
        "last_access_time": timestamp,
    }


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

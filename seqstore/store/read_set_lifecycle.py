"""Every state change of a read set, one method each, used by the API and by the jobs alike:
PROCESSING_UPLOAD → ACTIVE or UPLOAD_FAILED (ingestion), ACTIVE → ARCHIVED → ACTIVATING → ACTIVE
(archive and activation), … → DELETING → DELETED (deletion), and what a crash left half done."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..blobs import BlobStore
from ..config import Settings
from ..db import schema as t
from ..db.engine import Database
from ..db.rows import insert_with_new_id, now
from ..queue import items as job_items
from . import read_set_rows as rows
from . import tags
from .arns import Arns
from .read_set_rows import StoredFile
from .sequence_stores import SequenceStores

MAX_STATUS_MESSAGE = 255


@dataclass(frozen=True)
class NewReadSet:
    """What a read set is created from: an upload's row or an import job's source."""

    name: str
    description: str | None
    subject_id: str
    sample_id: str
    generated_from: str | None
    reference_arn: str | None
    source_file_type: str
    tags: dict[str, str]

    @classmethod
    def from_import_source(cls, source: dict[str, Any]) -> NewReadSet:
        """An import source as the job's request gave it; unnamed, it takes its first file's name."""
        first_file = source["sourceFiles"]["source1"].rsplit("/", 1)[-1]
        return cls(
            name=source.get("name") or first_file.split(".", 1)[0][:127] or "readset",
            description=source.get("description"),
            subject_id=source["subjectId"],
            sample_id=source["sampleId"],
            generated_from=source.get("generatedFrom"),
            reference_arn=source.get("referenceArn"),
            source_file_type=source["sourceFileType"],
            tags=source.get("tags") or {},
        )


@dataclass(frozen=True)
class Analysis:
    """What ingestion found in a read set's sources: the columns it sets when marking it ACTIVE."""

    read_count: int
    base_count: int
    alignment: str
    etag_algorithm: str
    etags: dict[str, str]


class ReadSetLifecycle:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        arns: Arns,
        blobs: BlobStore,
        sequence_stores: SequenceStores,
    ) -> None:
        self.db = db
        self.settings = settings
        self.arns = arns
        self.blobs = blobs
        self.sequence_stores = sequence_stores

    def blob_prefix(self, store_id: str, read_set_id: str) -> str:
        return rows.blob_prefix(self.settings.account_id, store_id, read_set_id)

    def get(self, read_set_id: str) -> Any | None:
        """A read set's row by id alone (a job's own read set), or None."""
        with self.db.read() as connection:
            return rows.by_id(connection, read_set_id)

    def existing(self, store_id: str, read_set_id: str) -> tuple[Any, list[Any]] | None:
        """A read set of the store that is not deleted, with its files, or None."""
        with self.db.read() as connection:
            row = rows.in_store(connection, store_id, read_set_id)
            if row is None or row.status in rows.GONE:
                return None
            return row, rows.files(connection, read_set_id)

    # --- ingestion: PROCESSING_UPLOAD → ACTIVE | UPLOAD_FAILED

    def insert_processing(
        self, connection: Connection, store: Any, source: Any, *, creation_type: str, creation_job_id: str
    ) -> str:
        """Create a PROCESSING_UPLOAD read set from an upload row (or a NewReadSet); return its id."""
        values = processing_values(store, source, creation_type, creation_job_id, now())
        read_set_id = insert_with_new_id(connection, t.read_sets, values)
        tags.put(connection, self.arns.read_set(store.id, read_set_id), source.tags or {})
        return read_set_id

    def insert_imported(self, job_id: str, position: int, store_id: str, source: dict[str, Any]) -> Any:
        """The read set of an import job's item: created (PROCESSING_UPLOAD) and remembered by the
        item in one transaction on the first attempt, found again on later ones. Returns its row."""
        with self.db.write() as connection:
            item = job_items.get_item(connection, job_id, position)
            read_set_id = item.result_id
            if read_set_id is None:
                store = self.sequence_stores.require(connection, store_id)
                new = NewReadSet.from_import_source(source)
                read_set_id = self.insert_processing(
                    connection, store, new, creation_type="IMPORT", creation_job_id=job_id
                )
                job_items.set_item_result(connection, job_id, position, read_set_id)
            return rows.by_id(connection, read_set_id)

    def mark_active(self, read_set_id: str, analysis: Analysis, files: list[StoredFile]) -> None:
        with self.db.write() as connection:
            connection.execute(delete(t.read_set_files).where(t.read_set_files.c.read_set_id == read_set_id))
            connection.execute(insert(t.read_set_files), file_rows(read_set_id, files, self.settings.part_size))
            connection.execute(
                update(t.read_sets)
                .where(t.read_sets.c.id == read_set_id)
                .values(active_values(analysis, now()))
            )

    def fail_processing(self, read_set_ids: Iterable[str], message: str, connection: Connection | None = None) -> None:
        """Mark these read sets UPLOAD_FAILED with `message`, those still PROCESSING_UPLOAD (a read
        set that ended meanwhile keeps its state); in the caller's transaction if it gives one."""
        ids = list(read_set_ids)
        if not ids:
            return
        statement = (
            update(t.read_sets)
            .where(t.read_sets.c.id.in_(ids), t.read_sets.c.status == "PROCESSING_UPLOAD")
            .values(status="UPLOAD_FAILED", status_message=message[:MAX_STATUS_MESSAGE], update_time=now())
        )
        if connection is not None:
            connection.execute(statement)
            return
        with self.db.write() as own:
            own.execute(statement)

    # --- archive and activation: ACTIVE → ARCHIVED → ACTIVATING → ACTIVE

    def note_access(self, connection: Connection, read_set_id: str) -> None:
        """Record that a read set's bytes were read (the archive tier counts from here)."""
        connection.execute(
            update(t.read_sets).where(t.read_sets.c.id == read_set_id).values(last_access_time=now())
        )

    def note_access_now(self, read_set_id: str) -> None:
        with self.db.write() as connection:
            self.note_access(connection, read_set_id)

    def archive_idle(self, idle_seconds: float, limit: int = 100) -> list[str]:
        """Mark ARCHIVED up to `limit` ACTIVE read sets unread for `idle_seconds`; return their ids
        (the caller moves their files)."""
        cutoff = now() - timedelta(seconds=idle_seconds)
        c = t.read_sets.c
        with self.db.write() as connection:
            ids = list(
                connection.execute(
                    select(c.id).where(c.status == "ACTIVE", c.last_access_time < cutoff).limit(limit)
                ).scalars()
            )
            if ids:
                connection.execute(
                    update(t.read_sets)
                    .where(c.id.in_(ids), c.status == "ACTIVE")
                    .values(status="ARCHIVED", update_time=now())
                )
        return ids

    def begin_activation(self, job_id: str, item: Any, store_id: str, read_set_id: str) -> str:
        """Start activating a read set for an activation job's `item` (its row as claimed);
        returns "started", "active" (nothing to do), "missing", or the read set's status when it
        cannot be activated. An item that began this activation before a crash resumes it."""
        with self.db.write() as connection:
            row = rows.in_store(connection, store_id, read_set_id)
            if row is None or row.status in rows.GONE:
                return "missing"
            resuming = row.status == "ACTIVATING" and item.status == "IN_PROGRESS" and item.result_id == read_set_id
            if row.status in ("ACTIVE", "ACTIVATING") and not resuming:
                return "active"
            if row.status not in ("ARCHIVED", "ACTIVATING"):
                return str(row.status)
            connection.execute(
                update(t.read_sets)
                .where(t.read_sets.c.id == read_set_id)
                .values(status="ACTIVATING", update_time=now())
            )
            job_items.set_item_result(connection, job_id, item.position, read_set_id)
        return "started"

    def finish_activation(self, read_set_id: str) -> None:
        with self.db.write() as connection:
            timestamp = now()
            connection.execute(
                update(t.read_sets)
                .where(t.read_sets.c.id == read_set_id)
                .values(status="ACTIVE", update_time=timestamp, last_access_time=timestamp)
            )

    # --- deletion: … → DELETING → DELETED

    def begin_deletes(self, connection: Connection, read_set_ids: list[str]) -> None:
        if read_set_ids:
            connection.execute(
                update(t.read_sets)
                .where(t.read_sets.c.id.in_(read_set_ids))
                .values(status="DELETING", update_time=now())
            )

    def finish_deletes(self, store_id: str, read_set_ids: list[str]) -> None:
        """Remove DELETING read sets' bytes, files and tags (one transaction for all of them);
        they stay visible as DELETED."""
        if not read_set_ids:
            return
        for read_set_id in read_set_ids:
            prefix = self.blob_prefix(store_id, read_set_id)
            self.blobs.delete_prefix(prefix)
            self.blobs.delete_prefix(rows.archive_key(prefix))
        arns = [self.arns.read_set(store_id, read_set_id) for read_set_id in read_set_ids]
        with self.db.write() as connection:
            connection.execute(delete(t.read_set_files).where(t.read_set_files.c.read_set_id.in_(read_set_ids)))
            tags.remove_all(connection, *arns)
            connection.execute(
                update(t.read_sets)
                .where(t.read_sets.c.id.in_(read_set_ids))
                .values(status="DELETED", update_time=now())
            )

    def recover(self) -> None:
        """Finish deletions a crash interrupted."""
        with self.db.read() as connection:
            found = connection.execute(
                select(t.read_sets.c.id, t.read_sets.c.sequence_store_id).where(t.read_sets.c.status == "DELETING")
            ).all()
        for row in found:
            self.finish_deletes(row.sequence_store_id, [row.id])


def processing_values(
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


def active_values(analysis: Analysis, timestamp: datetime) -> dict[str, Any]:
    """The columns ingestion sets when a read set becomes ACTIVE."""
    return {
        "status": "ACTIVE",
        "status_message": None,
        "read_count": analysis.read_count,
        "base_count": analysis.base_count,
        "alignment": analysis.alignment,
        "etag_algorithm": analysis.etag_algorithm,
        "etag_source1": analysis.etags.get("source1"),
        "etag_source2": analysis.etags.get("source2"),
        "update_time": timestamp,
        "last_access_time": timestamp,
    }


def file_rows(read_set_id: str, files: list[StoredFile], part_size: int) -> list[dict[str, Any]]:
    return [
        {
            "read_set_id": read_set_id,
            "file": f.file,
            "blob_key": f.blob_key,
            "file_name": f.file_name,
            "content_length": f.content_length,
            "part_size": part_size,
            "md5": f.md5,
        }
        for f in files
    ]

"""Direct multipart upload of read sets: create, parts, complete, abort, list."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..blobs import BlobStore
from ..db import schema as t
from ..db.engine import Database
from ..db.rows import insert_with_new_id, now
from ..errors import ResourceNotFoundException, ValidationException
from ..queue import WakeSignal, enqueue, kinds
from . import tags
from .common import Pages, created_between, fetch_page, find_retry, page, page_limit, request_hash
from .read_set_lifecycle import ReadSetLifecycle
from .read_sets import ReadSets
from .sequence_stores import SequenceStores
from .upload_events import NoEvents, RecordedPart, UploadEvents


def part_checksum(digest: bytes) -> str:
    """The checksum UploadReadSetPart returns: base64 of the part's SHA-256
    (docs/behaviour.md, "Upload checksums")."""
    return base64.b64encode(digest).decode("ascii")


class Uploads:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        wake: WakeSignal,
        sequence_stores: SequenceStores,
        read_sets: ReadSets,
        lifecycle: ReadSetLifecycle,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.wake = wake
        self.sequence_stores = sequence_stores
        self.read_sets = read_sets
        self.lifecycle = lifecycle
        self.events: UploadEvents = NoEvents()  # the composition root may set a listener

    @staticmethod
    def describe(row: Any) -> dict[str, Any]:
        return {
            "sequenceStoreId": row.sequence_store_id,
            "uploadId": row.id,
            "sourceFileType": row.source_file_type,
            "subjectId": row.subject_id,
            "sampleId": row.sample_id,
            "generatedFrom": row.generated_from,
            "referenceArn": row.reference_arn,
            "name": row.name,
            "description": row.description,
            "tags": row.tags or None,
            "creationTime": row.creation_time,
        }

    def require_open(self, connection: Connection, store_id: str, upload_id: str) -> Any:
        """The upload's row if it is still in progress, else ResourceNotFoundException."""
        row = connection.execute(
            select(t.uploads).where(t.uploads.c.id == upload_id, t.uploads.c.sequence_store_id == store_id)
        ).first()
        if row is None or row.status != "IN_PROGRESS":
            state = "" if row is None else f" (it is {row.status.lower()})"
            raise ResourceNotFoundException(
                f"Upload {upload_id} is not an upload in progress in sequence store {store_id}{state}"
            )
        return row

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id = params["sequenceStoreId"]
        file_type = params["sourceFileType"]
        self.read_sets.check_reference_arn(file_type, params.get("referenceArn"))
        tags.check_tags(params.get("tags") or {})
        with self.db.write() as connection:
            self.sequence_stores.require(connection, store_id)
            existing = find_retry(
                self.db, connection, t.uploads, params, "upload", sequence_store_id=store_id
            )
            if existing is not None:
                return self.describe(existing)
            timestamp = now()
            values = {
                "sequence_store_id": store_id,
                "source_file_type": file_type,
                "subject_id": params["subjectId"],
                "sample_id": params["sampleId"],
                "name": params["name"],
                "description": params.get("description"),
                "generated_from": params.get("generatedFrom"),
                "reference_arn": params.get("referenceArn"),
                "tags": params.get("tags") or {},
                "status": "IN_PROGRESS",
                "client_token": params.get("clientToken"),
                "request_hash": request_hash(params),
                "creation_time": timestamp,
                "update_time": timestamp,
            }

            upload_id = insert_with_new_id(connection, t.uploads, values)
            return self.describe(
                connection.execute(select(t.uploads).where(t.uploads.c.id == upload_id)).one()
            )

    # UploadReadSetPart is streamed by the API layer: check, then write the bytes, then record.

    def check_part(self, store_id: str, upload_id: str, part_source: str) -> None:
        with self.db.read() as connection:
            row = self.require_open(connection, store_id, upload_id)
        if part_source == "SOURCE2" and row.source_file_type != "FASTQ":
            raise ValidationException(
                f"'partSource': SOURCE2 is only for paired FASTQ; this upload is {row.source_file_type}"
            )

    def part_blob_key(self, upload_id: str, part_source: str, part_number: int) -> str:
        # A unique name per attempt: a retried part never overwrites the bytes of one in flight.
        return f"uploads/{upload_id}/{part_source}/{part_number:05d}-{uuid.uuid4().hex}"

    def record_part(
        self,
        store_id: str,
        upload_id: str,
        part_source: str,
        part_number: int,
        blob_key: str,
        size: int,
        sha256: bytes,
    ) -> str:
        """Record a received part (replacing an earlier one of the same number); return its checksum.
        If the upload ended meanwhile, the part's bytes are dropped."""
        checksum = part_checksum(sha256)
        replaced: str | None = None
        try:
            with self.db.write() as connection:
                upload = self.require_open(connection, store_id, upload_id)
                key = (
                    t.upload_parts.c.upload_id == upload_id,
                    t.upload_parts.c.part_source == part_source,
                    t.upload_parts.c.part_number == part_number,
                )
                old = connection.execute(select(t.upload_parts).where(*key)).first()
                timestamp = now()
                if old is None:
                    connection.execute(
                        insert(t.upload_parts).values(
                            upload_id=upload_id,
                            part_source=part_source,
                            part_number=part_number,
                            blob_key=blob_key,
                            part_size=size,
                            checksum=checksum,
                            creation_time=timestamp,
                            update_time=timestamp,
                        )
                    )
                else:
                    replaced = old.blob_key
                    connection.execute(
                        update(t.upload_parts)
                        .where(*key)
                        .values(blob_key=blob_key, part_size=size, checksum=checksum, update_time=timestamp)
                    )
        except BaseException:
            self.blobs.delete(blob_key)
            raise
        self.events.part_recorded(RecordedPart(
            store_id, upload_id, upload.source_file_type, part_source, part_number, blob_key, size, bool(replaced)
        ))
        if replaced:
            self.blobs.delete(replaced)
        return checksum

    def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id, upload_id = params["sequenceStoreId"], params["uploadId"]
        listed = params["parts"]
        with self.db.write() as connection:
            upload = connection.execute(
                select(t.uploads).where(
                    t.uploads.c.id == upload_id, t.uploads.c.sequence_store_id == store_id
                )
            ).first()
            if upload is not None and upload.status == "COMPLETED" and upload.read_set_id:
                return {"readSetId": upload.read_set_id}  # a retry of a Complete that succeeded
            upload = self.require_open(connection, store_id, upload_id)
            sources = self._check_listed_parts(connection, upload, listed)
            store = self.sequence_stores.require(connection, store_id)
            read_set_id = self.lifecycle.insert_processing(
                connection, store, upload, creation_type="UPLOAD", creation_job_id=upload_id
            )
            connection.execute(
                update(t.uploads)
                .where(t.uploads.c.id == upload_id)
                .values(status="COMPLETED", read_set_id=read_set_id, update_time=now())
            )
            enqueue(
                connection,
                kinds.INGEST_UPLOAD,
                store_id,
                {"readSetId": read_set_id, "uploadId": upload_id, "sources": sources},
                status="IN_PROGRESS",
            )
        self.events.completed(upload_id, sources)  # before the job can start
        self.wake.notify()
        return {"readSetId": read_set_id}

    def _check_listed_parts(
        self, connection: Connection, upload: Any, listed: list[dict[str, Any]]
    ) -> dict[str, list[str]]:
        """Check the parts named by Complete against those received; return each source's blob
        keys in part order."""
        if not listed:
            raise ValidationException("'parts': list at least one SOURCE1 part")
        received = {
            (row.part_source, row.part_number): row
            for row in connection.execute(
                select(t.upload_parts).where(t.upload_parts.c.upload_id == upload.id)
            )
        }
        seen: set[tuple[str, int]] = set()
        for i, part in enumerate(listed):
            key = (part["partSource"], part["partNumber"])
            where = f"'parts[{i}]' ({key[0]} part {key[1]})"
            if key in seen:
                raise ValidationException(f"{where}: listed twice")
            seen.add(key)
            row = received.get(key)
            if row is None:
                raise ValidationException(f"{where}: no such part was uploaded")
            if row.checksum != part["checksum"]:
                raise ValidationException(
                    f"{where}: checksum {part['checksum']!r} does not match the part's checksum {row.checksum!r}"
                )
        sources: dict[str, list[str]] = {}
        for source in ("SOURCE1", "SOURCE2"):
            numbers = sorted(n for s, n in seen if s == source)
            if numbers:
                sources[source.lower()] = [received[(source, n)].blob_key for n in numbers]
        if "source1" not in sources:
            raise ValidationException("'parts': list at least one SOURCE1 part")
        if "source2" in sources and upload.source_file_type != "FASTQ":
            raise ValidationException(
                f"'parts': SOURCE2 parts are only for paired FASTQ, not {upload.source_file_type}"
            )
        return sources

    def abort(self, store_id: str, upload_id: str) -> dict[str, Any]:
        with self.db.write() as connection:
            self.require_open(connection, store_id, upload_id)
            connection.execute(
                update(t.uploads)
                .where(t.uploads.c.id == upload_id)
                .values(status="ABORTED", update_time=now())
            )
            connection.execute(delete(t.upload_parts).where(t.upload_parts.c.upload_id == upload_id))
        self.events.ended(upload_id)
        self.blobs.delete_prefix(f"uploads/{upload_id}")
        return {}

    def release_parts(self, upload_id: str) -> None:
        """Drop an upload's parts, listed or not, bytes and rows: once its read set was ingested
        (or failed), the read set owns its bytes."""
        self.blobs.delete_prefix(f"uploads/{upload_id}")
        with self.db.write() as connection:
            connection.execute(delete(t.upload_parts).where(t.upload_parts.c.upload_id == upload_id))

    def recover(self) -> None:
        """Drop part bytes of uploads that ended (an abort or ingestion interrupted by a crash
        leaves them), unless an ingestion job still needs them."""
        ended = []
        with self.db.read() as connection:
            for upload_id in self.blobs.children("uploads"):
                row = connection.execute(
                    select(t.uploads.c.status).where(t.uploads.c.id == upload_id)
                ).first()
                if row is None or row.status == "ABORTED":
                    ended.append(upload_id)
                elif row.status == "COMPLETED":
                    pending = connection.execute(
                        select(t.jobs.c.id).where(
                            t.jobs.c.kind == kinds.INGEST_UPLOAD,
                            t.jobs.c.runnable.is_(True),
                            t.jobs.c.params["uploadId"].as_string() == upload_id,
                        )
                    ).first()
                    if pending is None:
                        ended.append(upload_id)
        for upload_id in ended:
            self.blobs.delete_prefix(f"uploads/{upload_id}")
        # Writes of parts a killed API process left unfinished (an hour: no live upload takes that
        # long), except parts of uploads still in progress: another API process may be writing
        # them (and some S3-compatible servers report no true start time).
        with self.db.read() as connection:
            open_uploads = {
                row.id
                for row in connection.execute(select(t.uploads.c.id).where(t.uploads.c.status == "IN_PROGRESS"))
            }

        def in_use(key: str) -> bool:
            words = key.split("/")
            return len(words) > 2 and words[0] == "uploads" and words[1] in open_uploads

        self.blobs.abort_stale_writes(older_than=3600, in_use=in_use)

    def list_uploads(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id = params["sequenceStoreId"]
        c = t.uploads.c
        scope = {"store": store_id}
        query = select(t.uploads).where(c.sequence_store_id == store_id, c.status == "IN_PROGRESS")
        with self.db.read() as connection:
            self.sequence_stores.require(connection, store_id)
            rows, token = fetch_page(connection, query, t.uploads, params, scope)
        return {"uploads": [self.describe(r) for r in rows], "nextToken": token}

    def list_parts(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id, upload_id, source = params["sequenceStoreId"], params["uploadId"], params["partSource"]
        flt = params.get("filter") or {}
        scope = {"upload": upload_id, "source": source, "filter": flt}
        c = t.upload_parts.c
        query = select(t.upload_parts).where(
            c.upload_id == upload_id,
            c.part_source == source,
            c.part_number > Pages.decode(params.get("nextToken"), scope),
        )
        query = created_between(query, c.creation_time, flt)
        query = query.order_by(c.part_number).limit(page_limit(params.get("maxResults")))
        with self.db.read() as connection:
            self.require_open(connection, store_id, upload_id)
            rows = connection.execute(query).all()
        rows, token = page(rows, params.get("maxResults"), scope, key="part_number")
        return {
            "parts": [
                {
                    "partNumber": r.part_number,
                    "partSize": r.part_size,
                    "partSource": r.part_source,
                    "checksum": r.checksum,
                    "creationTime": r.creation_time,
                    "lastUpdatedTime": r.update_time,
                }
                for r in rows
            ],
            "nextToken": token,
        }

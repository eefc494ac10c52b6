"""References: metadata, listing, part downloads (with a byte range), deletion, the FASTA a
BAM or CRAM read set is checked against, and the rows a reference import creates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from ..blobs import BlobStore
from ..config import Settings
from ..db import schema as t
from ..db.engine import Database
from ..db.rows import new_id, now, record, records
from ..errors import (
    ConflictException,
    RangeNotSatisfiableException,
    ResourceNotFoundException,
    ValidationException,
)
from ..queue import items as job_items
from ..queue import kinds
from . import tags
from .arns import Arns
from .common import OutsideRange, byte_span, created_between, fetch_page, first_row, page_time
from .read_set_rows import PartRange, total_parts
from .reference_stores import ReferenceStores

FILE_KEYS = {"SOURCE": "source", "INDEX": "index"}
_BY_ID = select(t.references).where(
    t.references.c.id == bindparam("id"), t.references.c.reference_store_id == bindparam("store")
)
_FILES = select(t.reference_files).where(t.reference_files.c.reference_id == bindparam("reference"))


def parse_range(header: str, length: int) -> tuple[int, int]:
    """A `Range` value within a part of `length` bytes: `start-end` (inclusive), `start-` or
    `-suffix` → (offset, count). Raises RangeNotSatisfiableException outside the part."""
    match = re.fullmatch(r"\s*(\d*)\s*-\s*(\d*)\s*", header)
    if match is None or match.group(1) == match.group(2) == "":
        raise ValidationException(f"'Range': {header!r} is not START-END, START- or -SUFFIX (byte offsets)")
    try:
        return byte_span(match.group(1), match.group(2), length, "part")
    except OutsideRange as exc:
        raise RangeNotSatisfiableException(f"Range {header!r} {exc}") from None


class References:
    def __init__(
        self, db: Database, settings: Settings, arns: Arns, blobs: BlobStore, reference_stores: ReferenceStores
    ) -> None:
        self.db = db
        self.settings = settings
        self.arns = arns
        self.blobs = blobs
        self.reference_stores = reference_stores

    def describe(self, row: Any, files: list[Any] | None = None, bucket: str = "") -> dict[str, Any]:
        """The API form of a reference row; with its `files`, theirs too, each with the s3Uri of
        the S3 data plane in the store's `bucket` (its access point alias: docs/s3.md, "Names")."""
        result: dict[str, Any] = {
            "id": row.id,
            "arn": self.arns.reference(row.reference_store_id, row.id),
            "referenceStoreId": row.reference_store_id,
            "md5": row.md5,
            "status": row.status,
            "name": row.name,
            "description": row.description,
            "creationTime": row.creation_time,
            "updateTime": row.update_time,
            "creationType": row.creation_type,
            "creationJobId": row.creation_job_id,
        }
        if files and row.status == "ACTIVE":
            result["files"] = {
                f.file: {
                    "contentLength": f.content_length,
                    "partSize": f.part_size,
                    "totalParts": total_parts(f.content_length, f.part_size),
                    "s3Access": {"s3Uri": f"s3://{bucket}/{f.blob_key}"},
                }
                for f in files
            }
        return result

    def row(self, connection: Connection, store_id: str, reference_id: str) -> Any:
        """The reference's row, or ResourceNotFoundException naming what is missing."""
        row = record(connection.execute(_BY_ID, {"id": reference_id, "store": store_id}))
        if row is None:
            self.reference_stores.require(connection, store_id)  # which of the two is missing
            raise ResourceNotFoundException(
                f"Reference {reference_id} not found in reference store {store_id}"
            )
        return row

    @staticmethod
    def files(connection: Connection, reference_id: str) -> list[Any]:
        return records(connection.execute(_FILES, {"reference": reference_id}))

    def get_metadata(self, store_id: str, reference_id: str) -> dict[str, Any]:
        with self.db.read() as connection:
            row = self.row(connection, store_id, reference_id)
            bucket = self.reference_stores.alias(connection, store_id)
            return self.describe(row, self.files(connection, reference_id), bucket)

    def list_references(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id = params["referenceStoreId"]
        flt = params.get("filter") or {}
        scope = {"store": store_id, "filter": flt}
        c = t.references.c
        query = select(t.references).where(c.reference_store_id == store_id, c.status != "DELETED")
        if "name" in flt:
            query = query.where(c.name == flt["name"])
        if "md5" in flt:
            query = query.where(c.md5 == flt["md5"])
        query = created_between(query, c.creation_time, flt)
        with self.db.read() as connection:
            self.reference_stores.require(connection, store_id)
            # ix_references_store_created serves a list bounded by creation time.
            rows, token = fetch_page(
                connection, query, t.references, params, scope, time=page_time(flt, c.creation_time)
            )
        return {"references": [self.describe(r) for r in rows], "nextToken": token}

    def part_range(
        self, store_id: str, reference_id: str, file: str | None, part_number: int, range_header: str | None
    ) -> PartRange:
        file_key = FILE_KEYS[file or "SOURCE"]
        with self.db.read() as connection:
            row = self.row(connection, store_id, reference_id)
            if row.status != "ACTIVE":
                raise ResourceNotFoundException(f"Reference {reference_id} is {row.status}")
            stored = next((f for f in self.files(connection, reference_id) if f.file == file_key), None)
        if stored is None:
            raise ResourceNotFoundException(f"Reference {reference_id} has no {file or 'SOURCE'} file")
        last = total_parts(stored.content_length, stored.part_size)
        if part_number > last:
            raise RangeNotSatisfiableException(
                f"Part {part_number} is beyond the last part ({last}) of {file_key}"
            )
        offset = (part_number - 1) * stored.part_size
        length = min(stored.part_size, stored.content_length - offset)
        if range_header is not None:
            start, length = parse_range(range_header, length)
            offset += start
        return PartRange(stored.blob_key, offset, length)

    def delete_reference(self, store_id: str, reference_id: str) -> dict[str, Any]:
        arn = self.arns.reference(store_id, reference_id)
        with self.db.write() as connection:
            row = self.row(connection, store_id, reference_id)
            if row.status == "DELETED":
                raise ResourceNotFoundException(f"Reference {reference_id} was already deleted")
            user = first_row(
                connection,
                t.read_sets.c.id,
                t.read_sets.c.reference_arn == arn,
                t.read_sets.c.status != "DELETED",
            )
            if user is not None:
                raise ConflictException(
                    f"Reference {reference_id} is used by read set {user.id}; delete the read sets that use it first"
                )
            open_upload = first_row(
                connection,
                t.uploads.c.id,
                t.uploads.c.reference_arn == arn,
                t.uploads.c.status == "IN_PROGRESS",
            )
            if open_upload is not None:
                raise ConflictException(
                    f"Reference {reference_id} is named by upload {open_upload.id} in progress"
                )
            # Sources of read set imports that have not created their read set yet
            # (docs/behaviour.md, "Deleting a reference").
            named_by = next(
                (
                    job_id
                    for job_id, source in job_items.unfinished_sources(connection, kinds.READSET_IMPORT)
                    if source.get("referenceArn") == arn
                ),
                None,
            )
            if named_by is not None:
                raise ConflictException(
                    f"Reference {reference_id} is named by read set import job {named_by} in progress"
                )
            connection.execute(
                update(t.references)
                .where(t.references.c.id == reference_id)
                .values(status="DELETING", update_time=now())
            )
        self.blobs.delete_prefix(self.blob_prefix(store_id, reference_id))
        with self.db.write() as connection:
            connection.execute(
                delete(t.reference_files).where(t.reference_files.c.reference_id == reference_id)
            )
            tags.remove_all(connection, arn)
            connection.execute(
                update(t.references)
                .where(t.references.c.id == reference_id)
                .values(status="DELETED", update_time=now())
            )
        return {}

    def blob_prefix(self, store_id: str, reference_id: str) -> str:
        return f"{self.settings.account_id}/referenceStore/{store_id}/reference/{reference_id}"

    def fasta_of(self, reference_arn: str | None) -> Path | None:
        """A local copy of the FASTA (with its .fai beside it) of an ACTIVE reference of this
        server, or None."""
        if not reference_arn:
            return None
        words = self.arns.parse(reference_arn)
        if words is None or len(words) != 4 or words[0] != "referenceStore":
            return None
        with self.db.read() as connection:
            row = connection.execute(
                select(t.reference_files.c.blob_key)
                .join(t.references, t.references.c.id == t.reference_files.c.reference_id)
                .where(
                    t.references.c.id == words[3],
                    t.references.c.reference_store_id == words[1],
                    t.references.c.status == "ACTIVE",
                    t.reference_files.c.file == "source",
                )
            ).first()
        if row is None:
            return None
        self.blobs.cached_file(f"{row.blob_key}.fai")
        return self.blobs.cached_file(row.blob_key)

    @staticmethod
    def new_id() -> str:
        """An id for a reference an import is about to create (chosen before its bytes are stored)."""
        return new_id()

    def exists(self, reference_id: str) -> bool:
        with self.db.read() as connection:
            return first_row(connection, t.references.c.id, t.references.c.id == reference_id) is not None

    def create_imported(
        self,
        store_id: str,
        reference_id: str,
        job_id: str,
        source: dict[str, Any],
        md5: str,
        files: list[tuple[str, str, str, int, str]],
    ) -> None:
        """Record an ACTIVE reference an import job stored: its row under the id the job chose,
        its files (file, blob key, file name, size, md5 of the bytes) and the source's tags, in
        one transaction."""
        timestamp = now()
        with self.db.write() as connection:
            connection.execute(
                insert(t.references).values(
                    id=reference_id,
                    reference_store_id=store_id,
                    name=source["name"],
                    description=source.get("description"),
                    md5=md5,
                    status="ACTIVE",
                    creation_type="IMPORT",
                    creation_job_id=job_id,
                    creation_time=timestamp,
                    update_time=timestamp,
                )
            )
            connection.execute(
                insert(t.reference_files),
                [
                    {
                        "reference_id": reference_id,
                        "file": file,
                        "blob_key": key,
                        "file_name": name,
                        "content_length": size,
                        "part_size": self.settings.part_size,
                        "md5": md5,
                    }
                    for file, key, name, size, md5 in files
                ],
            )
            tags.put(connection, self.arns.reference(store_id, reference_id), source.get("tags") or {})

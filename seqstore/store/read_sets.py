"""Read sets as the API shows them: metadata, listing, part downloads, batch delete, and the
request-level checks of the reference a read set names."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select

from ..blobs import BlobStore
from ..config import Settings
from ..db import schema as t
from ..db.engine import Database
from ..errors import (
    ConflictException,
    RangeNotSatisfiableException,
    ResourceNotFoundException,
    ValidationException,
)
from . import read_set_rows as rows
from .arns import Arns
from .common import created_between, fetch_page, page_time
from .read_set_lifecycle import ReadSetLifecycle
from .read_set_rows import GONE, PartRange
from .sequence_stores import SequenceStores

REFERENCE_ARN = re.compile(r"arn:aws:omics:([^:]+):([0-9]{12}):referenceStore/([0-9]+)/reference/([0-9]+)")
FILE_KEYS = {"SOURCE1": "source1", "SOURCE2": "source2", "INDEX": "index"}
LIST_FILTERS = (
    ("name", "name"),
    ("sampleId", "sample_id"),
    ("subjectId", "subject_id"),
    ("generatedFrom", "generated_from"),
    ("creationType", "creation_type"),
)


class ReadSets:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        arns: Arns,
        blobs: BlobStore,
        sequence_stores: SequenceStores,
        lifecycle: ReadSetLifecycle,
    ) -> None:
        self.db = db
        self.settings = settings
        self.arns = arns
        self.blobs = blobs
        self.sequence_stores = sequence_stores
        self.lifecycle = lifecycle

    def check_reference_arn(self, file_type: str, reference_arn: str | None) -> None:
        """Request-level checks of `referenceArn` (docs/behaviour.md, "Read set references"):
        needed for BAM and CRAM, and must be a reference ARN of this server."""
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
        if (region, account) != (self.settings.region, self.settings.account_id):
            raise ValidationException(
                f"'referenceArn': {reference_arn!r} names another region or account than this server's "
                f"({self.settings.region}, {self.settings.account_id})"
            )

    def describe(self, row: Any, files: list[Any] | None = None, bucket: str = "") -> dict[str, Any]:
        """The API form of a read set row; with its `files`, their s3Uri in `bucket` (the store's
        access point alias: docs/s3.md, "Names")."""
        result: dict[str, Any] = {
            "id": row.id,
            "arn": self.arns.read_set(row.sequence_store_id, row.id),
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
                    "totalParts": rows.total_parts(f.content_length, f.part_size),
                    "s3Access": {"s3Uri": f"s3://{bucket}/{f.blob_key}"},
                }
                for f in files
            }
        return result

    def row(self, connection: Connection, store_id: str, read_set_id: str) -> Any:
        """The read set's row, or ResourceNotFoundException naming what is missing."""
        found = rows.in_store(connection, store_id, read_set_id)
        if found is None:
            self.sequence_stores.require(connection, store_id)  # which of the two is missing
            raise ResourceNotFoundException(f"Read set {read_set_id} not found in sequence store {store_id}")
        return found  # (its store exists: read_sets.sequence_store_id is a foreign key)

    def get_metadata(self, store_id: str, read_set_id: str) -> dict[str, Any]:
        with self.db.read() as connection:
            found = self.row(connection, store_id, read_set_id)
            bucket = self.sequence_stores.alias(connection, store_id)
            return self.describe(found, rows.files(connection, read_set_id), bucket)

    def list_read_sets(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id = params["sequenceStoreId"]
        flt = params.get("filter") or {}
        scope = {"store": store_id, "filter": flt}
        c = t.read_sets.c
        query = select(t.read_sets).where(c.sequence_store_id == store_id)
        query = (
            query.where(c.status == flt["status"]) if "status" in flt else query.where(c.status != "DELETED")
        )
        for member, column in LIST_FILTERS:
            if member in flt:
                query = query.where(c[column] == flt[member])
        if "referenceArn" in flt:
            arn = flt["referenceArn"]
            query = query.where(c.reference_arn.is_(None) if arn == "" else c.reference_arn == arn)
        query = created_between(query, c.creation_time, flt)
        with self.db.read() as connection:
            self.sequence_stores.require(connection, store_id)
            # ix_read_sets_store_created serves a list bounded by creation time.
            found, token = fetch_page(
                connection, query, t.read_sets, params, scope, time=page_time(flt, c.creation_time)
            )
        return {"readSets": [self.describe(r) for r in found], "nextToken": token}

    def part_range(self, store_id: str, read_set_id: str, file: str | None, part_number: int) -> PartRange:
        """Locate part `part_number` of a file of an ACTIVE read set (and note the access)."""
        file_key = FILE_KEYS[file or "SOURCE1"]
        with self.db.write() as connection:
            found = self.row(connection, store_id, read_set_id)
            if found.status in GONE:
                raise ResourceNotFoundException(f"Read set {read_set_id} was deleted")
            if found.status != "ACTIVE":
                raise ConflictException(
                    f"Read set {read_set_id} is {found.status}; only ACTIVE read sets can be downloaded"
                    + (" (start an activation job first)" if found.status == "ARCHIVED" else "")
                )
            stored = next((f for f in rows.files(connection, read_set_id) if f.file == file_key), None)
            if stored is None:
                raise ResourceNotFoundException(f"Read set {read_set_id} has no {file or 'SOURCE1'} file")
            total_parts = rows.total_parts(stored.content_length, stored.part_size)
            if part_number > total_parts:
                raise RangeNotSatisfiableException(
                    f"Part {part_number} is beyond the last part ({total_parts}) of {file_key}"
                )
            self.lifecycle.note_access(connection, read_set_id)
        offset = (part_number - 1) * stored.part_size
        return PartRange(stored.blob_key, offset, min(stored.part_size, stored.content_length - offset))

    def batch_delete(self, store_id: str, ids: list[str]) -> dict[str, Any]:
        errors: list[dict[str, str]] = []
        deleting: list[str] = []
        with self.db.write() as connection:
            self.sequence_stores.require(connection, store_id)
            for read_set_id in dict.fromkeys(ids):  # a repeated id is treated once
                found = rows.in_store(connection, store_id, read_set_id)
                if found is None or found.status in GONE:
                    errors.append(
                        {"id": read_set_id, "code": "", "message": "The specified readset does not exist."}
                    )
                elif found.status in ("PROCESSING_UPLOAD", "ACTIVATING"):
                    errors.append(
                        {
                            "id": read_set_id,
                            "code": "ConflictException",
                            "message": f"The read set is {found.status} and cannot be deleted until that ends.",
                        }
                    )
                else:
                    deleting.append(read_set_id)
            self.lifecycle.begin_deletes(connection, deleting)
        # The bytes go after the read set left ACTIVE, so a crash here leaves it DELETING (finished
        # by recover()), never ACTIVE without its bytes.
        self.lifecycle.finish_deletes(store_id, deleting)
        return {"errors": errors or None}

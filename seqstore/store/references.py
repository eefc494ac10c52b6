"""Reference stores, references and reference import jobs."""

from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from ..db import schema as t
from ..protocol.errors import (
    ConflictException,
    RangeNotSatisfiableException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from .common import (
    created_between,
    describe_sse,
    fetch_page,
    find_retry,
    first_row,
    insert_with_new_id,
    now,
    page_time,
    record,
    records,
    request_hash,
    sse_columns,
)
from .context import StoreContext
from .job_records import get_job, list_jobs, submit
from .read_set_jobs import IMPORT as READ_SET_IMPORT
from .read_sets import PartRange

REFERENCE_IMPORT = "REFERENCE_IMPORT"
FILE_KEYS = {"SOURCE": "source", "INDEX": "index"}
_STORE_BY_ID = select(t.reference_stores).where(t.reference_stores.c.id == bindparam("id"))
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
    first, last = match.group(1), match.group(2)
    if first == "":
        count = min(int(last), length)
        if count == 0:
            raise RangeNotSatisfiableException(f"Range {header!r} selects no bytes")
        return length - count, count
    start = int(first)
    end = min(int(last), length - 1) if last else length - 1
    if start >= length or end < start:
        raise RangeNotSatisfiableException(f"Range {header!r} is outside the part's {length} bytes")
    return start, end - start + 1


class References:
    """Reference stores and their references."""

    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    # --- reference stores

    def describe_store(self, row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "arn": self.ctx.arns.reference_store(row.id),
            "name": row.name,
            "description": row.description,
            "sseConfig": describe_sse(row),
            "creationTime": row.creation_time,
        }

    def require_store(self, connection: Connection, store_id: str) -> Any:
        row = record(connection.execute(_STORE_BY_ID, {"id": store_id}))
        if row is None:
            raise ResourceNotFoundException(f"Reference store {store_id} not found")
        return row

    def create_store(self, params: dict[str, Any]) -> dict[str, Any]:
        self.ctx.tags.check_tags(params.get("tags") or {})
        with self.ctx.db.write() as connection:
            existing = find_retry(
                self.ctx.db, connection, t.reference_stores, params, "CreateReferenceStore request"
            )
            if existing is not None:
                return self.describe_store(existing)
            count = connection.execute(select(func.count()).select_from(t.reference_stores)).scalar_one()
            limit = self.ctx.settings.max_reference_stores
            if count >= limit:
                raise ServiceQuotaExceededException(
                    f"This account may have {limit} reference store(s) and has {count}; "
                    "import more references into the existing store (or raise SEQSTORE_MAX_REFERENCE_STORES)"
                )
            timestamp = now()
            values = {
                "name": params["name"],
                "description": params.get("description"),
                **sse_columns(params),
                "client_token": params.get("clientToken"),
                "request_hash": request_hash(params),
                "creation_time": timestamp,
                "update_time": timestamp,
            }

            store_id = insert_with_new_id(connection, t.reference_stores, values)
            self.ctx.tags.put(connection, self.ctx.arns.reference_store(store_id), params.get("tags") or {})
            return self.describe_store(self.require_store(connection, store_id))

    def get_store(self, store_id: str) -> dict[str, Any]:
        with self.ctx.db.read() as connection:
            return self.describe_store(self.require_store(connection, store_id))

    def list_stores(self, params: dict[str, Any]) -> dict[str, Any]:
        flt = params.get("filter") or {}
        c = t.reference_stores.c
        query = select(t.reference_stores)
        if "name" in flt:
            query = query.where(c.name == flt["name"])
        query = created_between(query, c.creation_time, flt)
        with self.ctx.db.read() as connection:
            rows, token = fetch_page(connection, query, t.reference_stores, params, flt)
        return {"referenceStores": [self.describe_store(r) for r in rows], "nextToken": token}

    def delete_store(self, store_id: str) -> dict[str, Any]:
        with self.ctx.db.write() as connection:
            self.require_store(connection, store_id)
            live = first_row(
                connection,
                t.references.c.id,
                t.references.c.reference_store_id == store_id,
                t.references.c.status != "DELETED",
            )
            if live is not None:
                raise ConflictException(
                    f"Reference store {store_id} still holds references; delete them first"
                )
            # A running import is about to add references (and their files) to this store.
            running = first_row(
                connection,
                t.jobs.c.id,
                t.jobs.c.store_id == store_id,
                t.jobs.c.kind == REFERENCE_IMPORT,
                t.jobs.c.runnable,
            )
            if running is not None:
                raise ConflictException(
                    f"Reference store {store_id} has import job {running.id} in progress; "
                    "delete the store after it ends"
                )
            reference_ids = select(t.references.c.id).where(t.references.c.reference_store_id == store_id)
            connection.execute(
                delete(t.reference_files).where(t.reference_files.c.reference_id.in_(reference_ids))
            )
            connection.execute(delete(t.references).where(t.references.c.reference_store_id == store_id))
            arn = self.ctx.arns.reference_store(store_id)
            connection.execute(delete(t.tags).where(t.tags.c.resource_arn.startswith(arn + "/")))
            connection.execute(delete(t.tags).where(t.tags.c.resource_arn == arn))
            connection.execute(delete(t.reference_stores).where(t.reference_stores.c.id == store_id))
        return {}

    # --- references

    def describe(self, row: Any, files: list[Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": row.id,
            "arn": self.ctx.arns.reference(row.reference_store_id, row.id),
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
                    "totalParts": max(1, math.ceil(f.content_length / f.part_size)),
                }
                for f in files
            }
        return result

    def _row(self, connection: Connection, store_id: str, reference_id: str) -> Any:
        row = record(connection.execute(_BY_ID, {"id": reference_id, "store": store_id}))
        if row is None:
            self.require_store(connection, store_id)  # which of the two is missing
            raise ResourceNotFoundException(
                f"Reference {reference_id} not found in reference store {store_id}"
            )
        return row

    @staticmethod
    def _files(connection: Connection, reference_id: str) -> list[Any]:
        return records(connection.execute(_FILES, {"reference": reference_id}))

    def get_metadata(self, store_id: str, reference_id: str) -> dict[str, Any]:
        with self.ctx.db.read() as connection:
            row = self._row(connection, store_id, reference_id)
            return self.describe(row, self._files(connection, reference_id))

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
        with self.ctx.db.read() as connection:
            self.require_store(connection, store_id)
            # ix_references_store_created serves a list bounded by creation time.
            rows, token = fetch_page(
                connection, query, t.references, params, scope, time=page_time(flt, c.creation_time)
            )
        return {"references": [self.describe(r) for r in rows], "nextToken": token}

    def part_range(
        self, store_id: str, reference_id: str, file: str | None, part_number: int, range_header: str | None
    ) -> PartRange:
        file_key = FILE_KEYS[file or "SOURCE"]
        with self.ctx.db.read() as connection:
            row = self._row(connection, store_id, reference_id)
            if row.status != "ACTIVE":
                raise ResourceNotFoundException(f"Reference {reference_id} is {row.status}")
            stored = next((f for f in self._files(connection, reference_id) if f.file == file_key), None)
        if stored is None:
            raise ResourceNotFoundException(f"Reference {reference_id} has no {file or 'SOURCE'} file")
        total_parts = max(1, math.ceil(stored.content_length / stored.part_size))
        if part_number > total_parts:
            raise RangeNotSatisfiableException(
                f"Part {part_number} is beyond the last part ({total_parts}) of {file_key}"
            )
        offset = (part_number - 1) * stored.part_size
        length = min(stored.part_size, stored.content_length - offset)
        if range_header is not None:
            start, length = parse_range(range_header, length)
            offset += start
        return PartRange(stored.blob_key, offset, length)

    def delete_reference(self, store_id: str, reference_id: str) -> dict[str, Any]:
        arn = self.ctx.arns.reference(store_id, reference_id)
        with self.ctx.db.write() as connection:
            row = self._row(connection, store_id, reference_id)
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
            # Sources of read set imports that have not created their read set yet (spec §6).
            queued = connection.execute(
                select(t.job_items.c.job_id, t.job_items.c.source)
                .join(t.jobs, t.jobs.c.id == t.job_items.c.job_id)
                .where(
                    t.jobs.c.kind == READ_SET_IMPORT,
                    t.jobs.c.runnable,
                    t.job_items.c.status.not_in(("FINISHED", "FAILED")),
                )
            ).all()
            named_by = next(
                (row.job_id for row in queued if (row.source or {}).get("referenceArn") == arn), None
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
        self.ctx.blobs.delete_prefix(self.blob_prefix(store_id, reference_id))
        with self.ctx.db.write() as connection:
            connection.execute(
                delete(t.reference_files).where(t.reference_files.c.reference_id == reference_id)
            )
            self.ctx.tags.remove_all(connection, arn)
            connection.execute(
                update(t.references)
                .where(t.references.c.id == reference_id)
                .values(status="DELETED", update_time=now())
            )
        return {}

    def blob_prefix(self, store_id: str, reference_id: str) -> str:
        return f"{self.ctx.settings.account_id}/referenceStore/{store_id}/reference/{reference_id}"

    # --- import jobs

    def describe_job(self, row: Any, items: list[Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": row.id,
            "referenceStoreId": row.store_id,
            "roleArn": row.role_arn,
            "status": row.status,
            "statusMessage": row.status_message,
            "creationTime": row.creation_time,
            "completionTime": row.completion_time,
        }
        if items is not None:
            result["sources"] = [
                {
                    **i.source,
                    "status": i.status,
                    "statusMessage": i.status_message,
                    "referenceId": i.result_id,
                }
                for i in items
            ]
        return result

    def start_import(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id = params["referenceStoreId"]
        for source in params["sources"]:
            self.ctx.tags.check_tags(source.get("tags") or {})
        with self.ctx.db.write() as connection:
            self.require_store(connection, store_id)
            job = submit(
                self.ctx,
                connection,
                REFERENCE_IMPORT,
                store_id,
                params,
                list(params["sources"]),
                "reference import job",
                role_arn=params["roleArn"],
            )
        self.ctx.wake_workers()
        return self.describe_job(job)

    def get_import(self, store_id: str, job_id: str) -> dict[str, Any]:
        with self.ctx.db.read() as connection:
            self.require_store(connection, store_id)
            row, items = get_job(connection, REFERENCE_IMPORT, store_id, job_id, "reference import job")
        return self.describe_job(row, items)

    def list_imports(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id = params["referenceStoreId"]
        with self.ctx.db.read() as connection:
            self.require_store(connection, store_id)
            rows, token = list_jobs(connection, REFERENCE_IMPORT, store_id, params)
        return {"importJobs": [self.describe_job(r) for r in rows], "nextToken": token}

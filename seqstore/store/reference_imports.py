"""Reference import jobs: start, get, list. The work itself is done by
seqstore/jobs/reference_import.py."""

from __future__ import annotations

from typing import Any

from ..db.engine import Database
from ..queue import WakeSignal, kinds
from . import tags
from .job_records import get_job, list_jobs, submit
from .reference_stores import ReferenceStores


class ReferenceImports:
    def __init__(self, db: Database, wake: WakeSignal, reference_stores: ReferenceStores) -> None:
        self.db = db
        self.wake = wake
        self.reference_stores = reference_stores

    def describe(self, row: Any, items: list[Any] | None = None) -> dict[str, Any]:
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
            tags.check_tags(source.get("tags") or {})
        with self.db.write() as connection:
            self.reference_stores.require(connection, store_id)
            job = submit(
                self.db,
                connection,
                kinds.REFERENCE_IMPORT,
                store_id,
                params,
                list(params["sources"]),
                "reference import job",
                role_arn=params["roleArn"],
            )
        self.wake.notify()
        return self.describe(job)

    def get_import(self, store_id: str, job_id: str) -> dict[str, Any]:
        with self.db.read() as connection:
            self.reference_stores.require(connection, store_id)
            row, items = get_job(connection, kinds.REFERENCE_IMPORT, store_id, job_id, "reference import job")
        return self.describe(row, items)

    def list_imports(self, params: dict[str, Any]) -> dict[str, Any]:
        store_id = params["referenceStoreId"]
        with self.db.read() as connection:
            self.reference_stores.require(connection, store_id)
            rows, token = list_jobs(connection, kinds.REFERENCE_IMPORT, store_id, params)
        return {"importJobs": [self.describe(r) for r in rows], "nextToken": token}

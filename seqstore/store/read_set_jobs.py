"""Read set import, export and activation jobs: start, get, list. The work itself is done by
runners in seqstore/jobs/read_set_jobs.py."""

from __future__ import annotations

from typing import Any

from ..db.engine import Database
from ..errors import ValidationException
from ..queue import WakeSignal, items, kinds
from . import tags
from .job_records import get_job, list_jobs, submit
from .read_set_lifecycle import ReadSetLifecycle
from .read_sets import ReadSets
from .sequence_stores import SequenceStores

IMPORT, EXPORT, ACTIVATION = kinds.READSET_IMPORT, kinds.READSET_EXPORT, kinds.READSET_ACTIVATION
KIND_NAMES = kinds.READ_SET_JOB_NAMES


class ReadSetJobs:
    def __init__(
        self,
        db: Database,
        wake: WakeSignal,
        sequence_stores: SequenceStores,
        read_sets: ReadSets,
        lifecycle: ReadSetLifecycle,
    ) -> None:
        self.db = db
        self.wake = wake
        self.sequence_stores = sequence_stores
        self.read_sets = read_sets
        self.lifecycle = lifecycle

    def describe(self, row: Any, items: list[Any] | None = None) -> dict[str, Any]:
        """The API form of a job; with `items`, its per-source details as each Get call names them."""
        result: dict[str, Any] = {
            "id": row.id,
            "sequenceStoreId": row.store_id,
            "roleArn": row.role_arn,
            "destination": row.destination,
            "status": row.status,
            "statusMessage": row.status_message,
            "creationTime": row.creation_time,
            "completionTime": row.completion_time,
        }
        if items is None:
            return result
        if row.kind == IMPORT:
            result["sources"] = [self._import_item(item) for item in items]
        elif row.kind == EXPORT:
            result["readSets"] = [
                {"id": i.source["readSetId"], "status": i.status, "statusMessage": i.status_message}
                for i in items
            ]
        else:
            result["sources"] = [
                {"readSetId": i.source["readSetId"], "status": i.status, "statusMessage": i.status_message}
                for i in items
            ]
        return result

    @staticmethod
    def _import_item(item: Any) -> dict[str, Any]:
        source = dict(item.source)
        # The real service lists the sample and subject among each source's tags (docs/behaviour.md,
        # "Import jobs").
        source["tags"] = {
            **(source.get("tags") or {}),
            "aws:omics:sampleId": source["sampleId"],
            "aws:omics:subjectId": source["subjectId"],
        }
        return {
            **source,
            "status": item.status,
            "statusMessage": item.status_message,
            "readSetId": item.result_id,
        }

    def start(self, kind: str, params: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        """Queue a job of `kind` with one item per source."""
        store_id = params["sequenceStoreId"]
        with self.db.write() as connection:
            self.sequence_stores.require(connection, store_id)
            job = submit(
                self.db,
                connection,
                kind,
                store_id,
                params,
                items,
                f"{KIND_NAMES[kind]} job",
                role_arn=params.get("roleArn"),
                destination=params.get("destination"),
            )
        self.wake.notify()
        return self.describe(job)

    def get(self, kind: str, store_id: str, job_id: str) -> dict[str, Any]:
        with self.db.read() as connection:
            self.sequence_stores.require(connection, store_id)
            row, items = get_job(connection, kind, store_id, job_id, f"read set {KIND_NAMES[kind]} job")
        return self.describe(row, items)

    def list_jobs(self, kind: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        store_id = params["sequenceStoreId"]
        with self.db.read() as connection:
            self.sequence_stores.require(connection, store_id)
            rows, token = list_jobs(connection, kind, store_id, params)
        return [self.describe(r) for r in rows], token

    # --- the three Start calls: request-level checks, then one item per source

    def start_import(self, params: dict[str, Any]) -> dict[str, Any]:
        for i, source in enumerate(params["sources"]):
            where = f"sources[{i}]"
            file_type = source["sourceFileType"]
            if source["sourceFiles"].get("source2") and file_type != "FASTQ":
                raise ValidationException(
                    f"'{where}.sourceFiles.source2': only FASTQ read sets have two sources"
                )
            try:
                self.read_sets.check_reference_arn(file_type, source.get("referenceArn"))
            except ValidationException as exc:
                raise ValidationException(f"'{where}': {exc.message}") from None
            tags.check_tags(source.get("tags") or {})
        return self.start(IMPORT, params, list(params["sources"]))

    def start_export(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.start(EXPORT, params, [{"readSetId": s["readSetId"]} for s in params["sources"]])

    def start_activation(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.start(ACTIVATION, params, [{"readSetId": s["readSetId"]} for s in params["sources"]])

    def fail_unfinished(self, job: Any, message: str) -> None:
        """A job that cannot go on: its unfinished items fail with `message`, and so do the read
        sets an import's items created that are still PROCESSING_UPLOAD (one transaction)."""
        with self.db.write() as connection:
            created = items.fail_unfinished_items(connection, job.id, message)
            if job.kind == IMPORT:
                self.lifecycle.fail_processing(created, message, connection)

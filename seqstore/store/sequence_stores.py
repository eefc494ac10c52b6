"""Sequence stores: create, read, list, update, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from ..blobs import BlobStore
from ..config import Settings
from ..db import schema as t
from ..db.engine import Database
from ..db.rows import now
from ..errors import ConflictException, ValidationException
from ..queue import WakeSignal, enqueue, kinds
from . import s3_aliases
from .arns import Arns
from .common import describe_sse, first_row
from .stores import StoreRows

MAX_PROPAGATED_TAGS = 5  # fixed quota (docs/behaviour.md, "Quotas")


class SequenceStores:
    def __init__(self, db: Database, settings: Settings, arns: Arns, blobs: BlobStore, wake: WakeSignal) -> None:
        self.db = db
        self.settings = settings
        self.arns = arns
        self.blobs = blobs
        self.wake = wake
        self._aliases: dict[str, str] = {}  # store id → alias (immutable)
        self.rows = StoreRows(db, t.sequence_stores, "Sequence store", "CreateSequenceStore", arns.sequence_store)

    def describe(self, row: Any) -> dict[str, Any]:
        """The API form of a store row (the serializer keeps the members each output shape has)."""
        account = self.settings.account_id
        # The access point alias is the bucket (docs/s3.md, "Names"), in either blob backend.
        s3_access: dict[str, Any] = {
            "s3Uri": f"s3://{self.alias_of_row(row)}/{s3_aliases.store_prefix(account, row.id)}/",
            "s3AccessPointArn": self.arns.access_point(row.id),
            "accessLogLocation": row.access_log_location,
        }
        return {
            "id": row.id,
            "arn": self.arns.sequence_store(row.id),
            "name": row.name,
            "description": row.description,
            "sseConfig": describe_sse(row),
            "creationTime": row.creation_time,
            "updateTime": row.update_time,
            "fallbackLocation": row.fallback_location,
            "eTagAlgorithmFamily": row.etag_algorithm_family,
            "status": row.status,
            "statusMessage": row.status_message,
            "propagatedSetLevelTags": row.propagated_set_level_tags,
            "s3Access": s3_access,
        }

    def alias_of_row(self, row: Any) -> str:
        alias = s3_aliases.alias(self.settings.account_id, row.id, row.s3_alias_token)
        self._aliases[row.id] = alias
        return alias

    def alias(self, connection: Connection, store_id: str) -> str:
        """The store's S3 access point alias (kept once read: it never changes), or
        ResourceNotFoundException."""
        found = self._aliases.get(store_id)
        if found is None:
            found = self.alias_of_row(self.require(connection, store_id))
        return found

    def require(self, connection: Connection, store_id: str) -> Any:
        """The store's row, or ResourceNotFoundException."""
        return self.rows.require(connection, store_id)

    def row(self, store_id: str) -> Any:
        """The store's row in a read of its own (for a job), or ResourceNotFoundException."""
        with self.db.read() as connection:
            return self.rows.require(connection, store_id)

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_propagated_tags(params.get("propagatedSetLevelTags"))
        values = {
            "status": "ACTIVE",
            "etag_algorithm_family": params.get("eTagAlgorithmFamily", "MD5up"),
            "fallback_location": params.get("fallbackLocation") or None,
            "propagated_set_level_tags": params.get("propagatedSetLevelTags") or [],
            "access_log_location": (params.get("s3AccessConfig") or {}).get("accessLogLocation") or None,
            "s3_alias_token": s3_aliases.new_token(),
        }
        return self.rows.create(params, values, self.describe)

    def get(self, store_id: str) -> dict[str, Any]:
        return self.rows.get(store_id, self.describe)

    def list_stores(self, params: dict[str, Any]) -> dict[str, Any]:
        rows, token = self.rows.list_page(params, equal=("name", "status"), updated=True)
        return {"sequenceStores": [self.describe(r) for r in rows], "nextToken": token}

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_propagated_tags(params.get("propagatedSetLevelTags"))
        changes: dict[str, Any] = {}
        for member, column in (
            ("name", "name"),
            ("description", "description"),
            ("propagatedSetLevelTags", "propagated_set_level_tags"),
        ):
            if member in params:
                changes[column] = params[member]
        if "fallbackLocation" in params:
            changes["fallback_location"] = params["fallbackLocation"] or None  # "" clears it
        if "s3AccessConfig" in params:
            changes["access_log_location"] = params["s3AccessConfig"].get("accessLogLocation") or None
        with self.db.write() as connection:
            row = self.require(connection, params["id"])
            if row.status not in ("ACTIVE", "FAILED"):
                raise ConflictException(f"Sequence store {row.id} is {row.status} and cannot be updated now")
            retag = (
                self.blobs.object_tags
                and "propagated_set_level_tags" in changes
                and list(changes["propagated_set_level_tags"] or []) != list(row.propagated_set_level_tags or [])
            )
            if changes:
                changes["update_time"] = now()
                connection.execute(
                    update(t.sequence_stores).where(t.sequence_stores.c.id == row.id).values(**changes)
                )
            if retag:  # the objects of every read set take the new keys, in the background
                enqueue(connection, kinds.PROPAGATE_TAGS, row.id, {}, status="IN_PROGRESS")
            described = self.describe(self.require(connection, row.id))
        if retag:
            self.wake.notify()
        return described

    def delete(self, store_id: str) -> dict[str, Any]:
        with self.db.write() as connection:
            self.require(connection, store_id)
            live = first_row(
                connection,
                t.read_sets.c.id,
                t.read_sets.c.sequence_store_id == store_id,
                t.read_sets.c.status != "DELETED",
            )
            if live is not None:
                raise ConflictException(
                    f"Sequence store {store_id} still holds read sets; delete them first (BatchDeleteReadSet)"
                )
            open_upload = first_row(
                connection,
                t.uploads.c.id,
                t.uploads.c.sequence_store_id == store_id,
                t.uploads.c.status == "IN_PROGRESS",
            )
            if open_upload is not None:
                raise ConflictException(
                    f"Sequence store {store_id} has upload {open_upload.id} in progress; "
                    "abort or complete it first"
                )
            # What remains are deleted read sets and finished uploads: drop them with the store.
            read_set_ids = select(t.read_sets.c.id).where(t.read_sets.c.sequence_store_id == store_id)
            connection.execute(
                delete(t.read_set_files).where(t.read_set_files.c.read_set_id.in_(read_set_ids))
            )
            connection.execute(delete(t.read_sets).where(t.read_sets.c.sequence_store_id == store_id))
            upload_ids = select(t.uploads.c.id).where(t.uploads.c.sequence_store_id == store_id)
            connection.execute(delete(t.upload_parts).where(t.upload_parts.c.upload_id.in_(upload_ids)))
            connection.execute(delete(t.uploads).where(t.uploads.c.sequence_store_id == store_id))
            connection.execute(
                delete(t.s3_access_policies).where(
                    t.s3_access_policies.c.store_id == store_id,
                    t.s3_access_policies.c.store_type == "SEQUENCE_STORE",
                )
            )
            self.rows.drop(connection, store_id)
        return {}


def _check_propagated_tags(keys: list[str] | None) -> None:
    if keys is not None and len(keys) > MAX_PROPAGATED_TAGS:
        raise ValidationException(
            f"'propagatedSetLevelTags': at most {MAX_PROPAGATED_TAGS} tag keys can be propagated, "
            f"got {len(keys)}"
        )

"""Sequence stores: create, read, list, update, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from ..db import schema as t
from ..jobs import queue
from ..protocol.errors import ConflictException, ResourceNotFoundException, ValidationException
from .common import (
    created_between,
    describe_sse,
    fetch_page,
    find_retry,
    first_row,
    insert_with_new_id,
    now,
    record,
    request_hash,
    sse_columns,
)
from .context import StoreContext

MAX_PROPAGATED_TAGS = 5  # fixed quota (quotas.md)
# An internal job: write the objects' tags of a store's read sets again after its propagated keys changed.
PROPAGATE_TAGS = "PROPAGATE_TAGS"

# Built once: every store-scoped call looks its store up, so this is the hottest query.
_BY_ID = select(t.sequence_stores).where(t.sequence_stores.c.id == bindparam("id"))


class SequenceStores:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    def describe(self, row: Any) -> dict[str, Any]:
        """The API form of a store row (the serializer keeps the members each output shape has)."""
        ctx = self.ctx
        s3_access: dict[str, Any] = {
            "s3Uri": ctx.blobs.uri(f"{ctx.settings.account_id}/sequenceStore/{row.id}") + "/",
            "s3AccessPointArn": (
                f"arn:aws:s3:{ctx.settings.region}:{ctx.settings.account_id}:accesspoint/"
                f"{ctx.settings.account_id}-{row.id}"
            ),
            "accessLogLocation": row.access_log_location,
        }
        return {
            "id": row.id,
            "arn": ctx.arns.sequence_store(row.id),
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

    def require(self, connection: Connection, store_id: str) -> Any:
        """The store's row, or ResourceNotFoundException."""
        row = record(connection.execute(_BY_ID, {"id": store_id}))
        if row is None:
            raise ResourceNotFoundException(f"Sequence store {store_id} not found")
        return row

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_propagated_tags(params.get("propagatedSetLevelTags"))
        self.ctx.tags.check_tags(params.get("tags") or {})
        with self.ctx.db.write() as connection:
            existing = find_retry(
                self.ctx.db, connection, t.sequence_stores, params, "CreateSequenceStore request"
            )
            if existing is not None:
                return self.describe(existing)
            timestamp = now()
            values = {
                "name": params["name"],
                "description": params.get("description"),
                "status": "ACTIVE",
                "etag_algorithm_family": params.get("eTagAlgorithmFamily", "MD5up"),
                "fallback_location": params.get("fallbackLocation") or None,
                "propagated_set_level_tags": params.get("propagatedSetLevelTags") or [],
                **sse_columns(params),
                "access_log_location": (params.get("s3AccessConfig") or {}).get("accessLogLocation") or None,
                "client_token": params.get("clientToken"),
                "request_hash": request_hash(params),
                "creation_time": timestamp,
                "update_time": timestamp,
            }

            store_id = insert_with_new_id(connection, t.sequence_stores, values)
            self.ctx.tags.put(connection, self.ctx.arns.sequence_store(store_id), params.get("tags") or {})
            return self.describe(self.require(connection, store_id))

    def get(self, store_id: str) -> dict[str, Any]:
        with self.ctx.db.read() as connection:
            return self.describe(self.require(connection, store_id))

    def list_stores(self, params: dict[str, Any]) -> dict[str, Any]:
        flt = params.get("filter") or {}
        c = t.sequence_stores.c
        query = select(t.sequence_stores)
        if "name" in flt:
            query = query.where(c.name == flt["name"])
        if "status" in flt:
            query = query.where(c.status == flt["status"])
        query = created_between(query, c.creation_time, flt)
        query = created_between(query, c.update_time, flt, prefix="updated")
        with self.ctx.db.read() as connection:
            rows, token = fetch_page(connection, query, t.sequence_stores, params, flt)
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
        with self.ctx.db.write() as connection:
            row = self.require(connection, params["id"])
            if row.status not in ("ACTIVE", "FAILED"):
                raise ConflictException(f"Sequence store {row.id} is {row.status} and cannot be updated now")
            retag = (
                self.ctx.blobs.object_tags
                and "propagated_set_level_tags" in changes
                and list(changes["propagated_set_level_tags"] or []) != list(row.propagated_set_level_tags or [])
            )
            if changes:
                changes["update_time"] = now()
                connection.execute(
                    update(t.sequence_stores).where(t.sequence_stores.c.id == row.id).values(**changes)
                )
            if retag:  # the objects of every read set take the new keys, in the background
                queue.enqueue(connection, PROPAGATE_TAGS, row.id, {}, status="IN_PROGRESS")
            described = self.describe(self.require(connection, row.id))
        if retag:
            self.ctx.wake_workers()
        return described

    def delete(self, store_id: str) -> dict[str, Any]:
        with self.ctx.db.write() as connection:
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
            arn = self.ctx.arns.sequence_store(store_id)
            connection.execute(delete(t.tags).where(t.tags.c.resource_arn.startswith(arn + "/")))
            connection.execute(delete(t.tags).where(t.tags.c.resource_arn == arn))
            connection.execute(
                delete(t.s3_access_policies).where(
                    t.s3_access_policies.c.store_id == store_id,
                    t.s3_access_policies.c.store_type == "SEQUENCE_STORE",
                )
            )
            connection.execute(delete(t.sequence_stores).where(t.sequence_stores.c.id == store_id))
        return {}


def _check_propagated_tags(keys: list[str] | None) -> None:
    if keys is not None and len(keys) > MAX_PROPAGATED_TAGS:
        raise ValidationException(
            f"'propagatedSetLevelTags': at most {MAX_PROPAGATED_TAGS} tag keys can be propagated, "
            f"got {len(keys)}"
        )

"""Reference stores: create (one per account by default, as the service allows), read, list,
delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select

from ..config import Settings
from ..db import schema as t
from ..db.engine import Database
from ..errors import ConflictException, ServiceQuotaExceededException
from ..queue import kinds
from . import s3_aliases
from .arns import Arns
from .common import describe_sse, first_row
from .stores import StoreRows


class ReferenceStores:
    def __init__(self, db: Database, settings: Settings, arns: Arns) -> None:
        self.db = db
        self.settings = settings
        self.arns = arns
        self.rows = StoreRows(db, t.reference_stores, "Reference store", "CreateReferenceStore", arns.reference_store)
        self._aliases: dict[str, str] = {}  # store id → alias (immutable)

    def describe(self, row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "arn": self.arns.reference_store(row.id),
            "name": row.name,
            "description": row.description,
            "sseConfig": describe_sse(row),
            "creationTime": row.creation_time,
        }

    def require(self, connection: Connection, store_id: str) -> Any:
        """The store's row, or ResourceNotFoundException."""
        return self.rows.require(connection, store_id)

    def alias(self, connection: Connection, store_id: str) -> str:
        """The store's S3 access point alias, the bucket of its files' s3Uris (docs/s3.md,
        "Names"; kept once read: it never changes), or ResourceNotFoundException."""
        found = self._aliases.get(store_id)
        if found is None:
            row = self.require(connection, store_id)
            found = self._aliases[store_id] = s3_aliases.alias(self.settings.account_id, row.id, row.s3_alias_token)
        return found

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        values = {"s3_alias_token": s3_aliases.new_token()}
        return self.rows.create(params, values, self.describe, before_insert=self._check_quota)

    def _check_quota(self, connection: Connection) -> None:
        count = connection.execute(select(func.count()).select_from(t.reference_stores)).scalar_one()
        limit = self.settings.max_reference_stores
        if count >= limit:
            raise ServiceQuotaExceededException(
                f"This account may have {limit} reference store(s) and has {count}; "
                "import more references into the existing store (or raise SEQSTORE_MAX_REFERENCE_STORES)"
            )

    def get(self, store_id: str) -> dict[str, Any]:
        return self.rows.get(store_id, self.describe)

    def list_stores(self, params: dict[str, Any]) -> dict[str, Any]:
        found, token = self.rows.list_page(params, equal=("name",))
        return {"referenceStores": [self.describe(r) for r in found], "nextToken": token}

    def delete(self, store_id: str) -> dict[str, Any]:
        with self.db.write() as connection:
            self.require(connection, store_id)
            live = first_row(
                connection,
                t.references.c.id,
                t.references.c.reference_store_id == store_id,
                t.references.c.status != "DELETED",
            )
            if live is not None:
                raise ConflictException(f"Reference store {store_id} still holds references; delete them first")
            # A running import is about to add references (and their files) to this store.
            running = first_row(
                connection,
                t.jobs.c.id,
                t.jobs.c.store_id == store_id,
                t.jobs.c.kind == kinds.REFERENCE_IMPORT,
                t.jobs.c.runnable,
            )
            if running is not None:
                raise ConflictException(
                    f"Reference store {store_id} has import job {running.id} in progress; "
                    "delete the store after it ends"
                )
            # What remains are deleted references: drop them with the store.
            reference_ids = select(t.references.c.id).where(t.references.c.reference_store_id == store_id)
            connection.execute(delete(t.reference_files).where(t.reference_files.c.reference_id.in_(reference_ids)))
            connection.execute(delete(t.references).where(t.references.c.reference_store_id == store_id))
            connection.execute(
                delete(t.s3_access_policies).where(
                    t.s3_access_policies.c.store_id == store_id,
                    t.s3_access_policies.c.store_type == "REFERENCE_STORE",
                )
            )
            self.rows.drop(connection, store_id)
        return {}

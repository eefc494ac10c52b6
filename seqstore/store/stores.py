"""What sequence stores and reference stores share: a row with an id, a name, encryption
settings and tags, created idempotently with a clientToken, found by id, listed by filter, and
dropped with every tag of what it held."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select

from ..db.engine import Database
from ..db.rows import insert_with_new_id, now, record
from ..errors import ResourceNotFoundException
from . import tags
from .common import created_between, fetch_page, find_retry, request_hash, sse_columns

Describe = Callable[[Any], dict[str, Any]]


class StoreRows:
    """The rows of one kind of store (`table`), named `kind` in messages ("Sequence store")."""

    def __init__(
        self, db: Database, table: Table, kind: str, create_operation: str, arn_of: Callable[[str], str]
    ) -> None:
        self.db = db
        self.table = table
        self.kind = kind
        self.create_operation = create_operation
        self.arn_of = arn_of
        # Built once: every store-scoped call looks its store up, so this is the hottest query.
        self._by_id = select(table).where(table.c.id == bindparam("id"))

    def require(self, connection: Connection, store_id: str) -> Any:
        """The store's row, or ResourceNotFoundException."""
        row = record(connection.execute(self._by_id, {"id": store_id}))
        if row is None:
            raise ResourceNotFoundException(f"{self.kind} {store_id} not found")
        return row

    def create(
        self,
        params: dict[str, Any],
        values: dict[str, Any],
        describe: Describe,
        before_insert: Callable[[Connection], None] | None = None,
    ) -> dict[str, Any]:
        """Create a store with these column `values` (plus name, description, encryption, token
        and times from `params`) and its tags; a retry with the same clientToken and input gets
        the store it created."""
        tags.check_tags(params.get("tags") or {})
        with self.db.write() as connection:
            existing = find_retry(self.db, connection, self.table, params, f"{self.create_operation} request")
            if existing is not None:
                return describe(existing)
            if before_insert is not None:
                before_insert(connection)
            timestamp = now()
            store_id = insert_with_new_id(
                connection,
                self.table,
                {
                    "name": params["name"],
                    "description": params.get("description"),
                    **sse_columns(params),
                    **values,
                    "client_token": params.get("clientToken"),
                    "request_hash": request_hash(params),
                    "creation_time": timestamp,
                    "update_time": timestamp,
                },
            )
            tags.put(connection, self.arn_of(store_id), params.get("tags") or {})
            return describe(self.require(connection, store_id))

    def get(self, store_id: str, describe: Describe) -> dict[str, Any]:
        with self.db.read() as connection:
            return describe(self.require(connection, store_id))

    def list_page(
        self, params: dict[str, Any], equal: Sequence[str] = ("name",), updated: bool = False
    ) -> tuple[Sequence[Any], str | None]:
        """One page of stores matching the request's filter: the members `equal` exactly, the
        creation time (and, with `updated`, the update time) within its bounds."""
        flt = params.get("filter") or {}
        c = self.table.c
        query = select(self.table)
        for member in equal:
            if member in flt:
                query = query.where(c[member] == flt[member])
        query = created_between(query, c.creation_time, flt)
        if updated:
            query = created_between(query, c.update_time, flt, prefix="updated")
        with self.db.read() as connection:
            return fetch_page(connection, query, self.table, params, flt)

    def drop(self, connection: Connection, store_id: str) -> None:
        """Delete the store's row and the tags of the store and of everything it held."""
        tags.remove_below(connection, self.arn_of(store_id))
        connection.execute(delete(self.table).where(self.table.c.id == store_id))

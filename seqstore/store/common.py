"""Pieces every resource uses: idempotency, pages, list filters, encryption settings."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import literal, select, tuple_

from ..db.rows import records
from ..errors import ValidationException

DEFAULT_PAGE_SIZE = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def request_hash(params: Mapping[str, Any], ignore: Iterable[str] = ("clientToken",)) -> str:
    """A digest of a request's input, to tell a retry (same input) from a reused token."""
    skip = set(ignore)
    data = {k: v for k, v in params.items() if k not in skip}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class Pages:
    """Opaque `nextToken`s for keyset pagination: on a table's `seq` column, or on
    (creation_time, seq) for a list bounded by creation time (see `fetch_page`). A token is bound
    to the list call's filter so that it cannot be replayed with another one, and to its kind of
    key so that a token of one kind is refused where the other is expected."""

    @staticmethod
    def _scope(scope: Any) -> str:
        return hashlib.sha256(json.dumps(scope, sort_keys=True, default=str).encode()).hexdigest()[:12]

    @classmethod
    def encode(cls, seq: int, scope: Any, time: datetime | None = None) -> str:
        """The token of the page after the row (`time`, `seq`), or after `seq` without a time."""
        if time is None:
            raw = f"1:{seq}:{cls._scope(scope)}"
        else:
            micros = (time.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)
            raw = f"2:{micros}:{seq}:{cls._scope(scope)}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def _fields(cls, token: str, scope: Any, version: str, count: int) -> list[int]:
        """The `count` integers of a token of `version` issued for `scope`."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            found, *fields, digest = raw.split(":")
            if found != version or len(fields) != count or digest != cls._scope(scope):
                raise ValueError
            return [int(field) for field in fields]
        except ValueError:
            raise ValidationException(
                "'nextToken': the token is not valid for this list call; start again without it"
            ) from None

    @classmethod
    def decode(cls, token: str | None, scope: Any) -> int:
        """The `seq` after which the next page starts (0 for the first page)."""
        if token is None:
            return 0
        [seq] = cls._fields(token, scope, "1", 1)
        return seq

    @classmethod
    def decode_timed(cls, token: str | None, scope: Any) -> tuple[datetime, int] | None:
        """The (creation_time, seq) after which the next page starts (None for the first page)."""
        if token is None:
            return None
        micros, seq = cls._fields(token, scope, "2", 2)
        return EPOCH + timedelta(microseconds=micros), seq


def page(
    rows: Sequence[Any], max_results: int | None, scope: Any, key: str = "seq", time: str | None = None
) -> tuple[Sequence[Any], str | None]:
    """Cut a page from `rows` (fetched with limit max_results+1, ordered by `key`, or by (`time`,
    `key`) when `time` names a column); return the rows of this page and the token of the next
    one, or None on the last page."""
    size = max_results or DEFAULT_PAGE_SIZE
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        return rows, Pages.encode(getattr(last, key), scope, getattr(last, time) if time else None)
    return rows, None


def page_limit(max_results: int | None) -> int:
    return (max_results or DEFAULT_PAGE_SIZE) + 1


def find_retry(
    db: Any, connection: Any, table: Any, params: Mapping[str, Any], what: str, **scope: Any
) -> Any | None:
    """The row an earlier call with the same `clientToken` created, or None. The same token with
    different input is a ValidationException. Concurrent calls with one token are serialized, so
    a retry racing its original cannot create a second resource."""
    token = params.get("clientToken")
    if token is None:
        return None
    db.lock(connection, f"clientToken:{token}")
    query = select(table).where(table.c.client_token == token)
    for column, value in scope.items():
        query = query.where(table.c[column] == value)
    existing = connection.execute(query).first()
    if existing is not None and existing.request_hash != request_hash(params):
        raise ValidationException(f"'clientToken': {token!r} was already used for a different {what}")
    return existing


def created_between(query: Any, column: Any, flt: Mapping[str, Any], prefix: str = "created") -> Any:
    """Apply a filter's inclusive `createdAfter`/`createdBefore` (or `updated…`) bounds."""
    if f"{prefix}After" in flt:
        query = query.where(column >= flt[f"{prefix}After"])
    if f"{prefix}Before" in flt:
        query = query.where(column <= flt[f"{prefix}Before"])
    return query


def page_time(flt: Mapping[str, Any], column: Any) -> Any | None:
    """The creation-time column to cut a list's pages on when its filter bounds creation time
    (an index on (..., creation_time, seq) then finds a page without walking the older rows),
    else None: pages on `seq`, which the other indexes end with."""
    return column if "createdAfter" in flt or "createdBefore" in flt else None


def fetch_page(
    connection: Any, query: Any, table: Any, params: Mapping[str, Any], scope: Any, time: Any = None
) -> tuple[Sequence[Any], str | None]:
    """Run a list query as one keyset page on `seq` (after the request's nextToken); return the
    rows and the next page's token.

    With `time` (a creation-time column the filter bounds) the page is cut on (`time`, `seq`)
    instead, so that an index on (..., time, seq) finds a page of the newest rows without walking
    the older ones on `seq`. Either key is fixed when a row is inserted and orders rows totally,
    so pages neither repeat nor skip a row that was there when the listing began; a row inserted
    meanwhile shows on a later page or on none."""
    limit = page_limit(params.get("maxResults"))
    if time is None:
        query = query.where(table.c.seq > Pages.decode(params.get("nextToken"), scope))
        query = query.order_by(table.c.seq).limit(limit)
        return page(records(connection.execute(query)), params.get("maxResults"), scope)
    after = Pages.decode_timed(params.get("nextToken"), scope)
    if after is not None:
        query = query.where(tuple_(time, table.c.seq) > tuple_(literal(after[0], time.type), after[1]))
    query = query.order_by(time, table.c.seq).limit(limit)
    return page(records(connection.execute(query)), params.get("maxResults"), scope, time=time.key)


def sse_columns(params: Mapping[str, Any]) -> dict[str, Any]:
    """A store's `sseConfig` as its columns (recorded and echoed; no encryption is emulated)."""
    sse = params.get("sseConfig") or {}
    return {"sse_type": sse.get("type", "KMS"), "sse_key_arn": sse.get("keyArn")}


def describe_sse(row: Any) -> dict[str, Any]:
    """A store's `sseConfig` as the API shows it."""
    return {"type": row.sse_type, "keyArn": row.sse_key_arn}


def first_row(connection: Any, column: Any, *conditions: Any) -> Any | None:
    """One row (just `column`) meeting the conditions, or None: for "is there any ..." checks."""
    return connection.execute(select(column).where(*conditions).limit(1)).first()


class OutsideRange(ValueError):
    """A byte range selects nothing of what it is applied to; str() says how, to follow the
    range itself in a message ("selects no bytes")."""


def byte_span(first: str, last: str, length: int, what: str) -> tuple[int, int]:
    """(offset, count) of the range `first-last` (inclusive; `first-` to the end, `-last` the
    last bytes) within `length` bytes of a `what` ("part", "file"); OutsideRange when it selects
    nothing."""
    if first == "":
        count = min(int(last), length)
        if count == 0:
            raise OutsideRange("selects no bytes")
        return length - count, count
    start = int(first)
    end = min(int(last), length - 1) if last else length - 1
    if start >= length or end < start:
        raise OutsideRange(f"is outside the {what}'s {length} bytes")
    return start, end - start + 1

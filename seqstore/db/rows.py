"""Row-level pieces every table's code uses: the clock, fresh random ids, rows as named tuples."""

from __future__ import annotations

import secrets
from collections import namedtuple
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError


def now() -> datetime:
    """The current time, UTC, to the millisecond the API shows."""
    value = datetime.now(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def new_id() -> str:
    """A new resource id: 10 random decimal digits, as the real service issues them."""
    return f"{secrets.randbelow(10**10):010d}"


def insert_with_new_id(connection: Any, table: Any, values: Mapping[str, Any], attempts: int = 8) -> str:
    """Insert a row under a fresh random id (retrying when the table's unique index says the id
    is taken, which a savepoint makes harmless to the caller's transaction); return the id."""
    for attempt in range(attempts):
        candidate = new_id()
        try:
            with connection.begin_nested():
                connection.execute(insert(table).values(id=candidate, **values))
            return candidate
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def records(result: Any) -> list[Any]:
    """The rows of a SQLAlchemy result as named tuples, for code that reads many columns of many
    rows (a list's describe()): a Row finds a column attribute through __getattr__, after a
    failed ordinary lookup, ~0.2 µs each; a named tuple in ~0.03 µs. Same attributes, same order."""
    make = _record_type(tuple(result.keys()))._make
    return [make(row) for row in result.all()]  # all(): one fetchall, not a fetchone per row


def record(result: Any) -> Any | None:
    """The first row of a result as records() makes it, or None."""
    row = result.first()
    return None if row is None else _record_type(tuple(row._fields))._make(row)


@lru_cache(maxsize=256)
def _record_type(names: tuple[str, ...]) -> Any:
    return namedtuple("Record", names)  # noqa: PYI024 - built per column list, not declared

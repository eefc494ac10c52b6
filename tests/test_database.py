"""The database layer's shortcuts behave as the plain ways would: each thread's kept read
connection (seqstore/db/engine.py) sees every commit, survives an error, and gives way inside a
nested read, past its limit and after dispose(); the SQLite timestamp reader, the JSON column
reader and records() give what SQLAlchemy's own would; on PostgreSQL, reads see every commit
without a transaction of their own, and a pooled connection the server dropped is replaced
before a request meets it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import DateTime, text
from sqlalchemy.dialects import sqlite

from seqstore.db import engine
from seqstore.db import schema as t
from seqstore.db.engine import Database
from seqstore.db.rows import record, records
from seqstore.db.schema import UtcDateTime
from tests.helpers.backends import POSTGRES_URL, new_postgres_database_url


def probed(url: str) -> Iterator[Database]:
    """A Database on `url` holding one table, probe, with one row, x = 1."""
    database = Database(url)
    with database.write() as connection:
        connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        connection.execute(text("INSERT INTO probe VALUES (1)"))
    yield database
    database.dispose()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    yield from probed(f"sqlite:///{tmp_path / 'seqstore.db'}")


def total(db: Database) -> int:
    with db.read() as connection:
        return int(connection.execute(text("SELECT sum(x) FROM probe")).scalar_one())


def insert(db: Database, value: int) -> None:
    with db.write() as connection:
        connection.execute(text("INSERT INTO probe VALUES (:x)"), {"x": value})


def raw_of(connection: object) -> object:
    return connection.connection.driver_connection  # type: ignore[attr-defined]


def test_a_thread_keeps_one_connection_and_sees_every_commit(db: Database) -> None:
    with db.read() as connection:
        first = raw_of(connection)
    assert total(db) == 1
    insert(db, 2)  # from a pooled connection
    assert total(db) == 3  # the kept connection's next transaction sees it
    with db.read() as connection:
        assert raw_of(connection) is first

    def elsewhere(seen: list[object]) -> None:
        with db.read() as connection:
            seen.append(raw_of(connection))

    seen: list[object] = []
    thread = threading.Thread(target=elsewhere, args=(seen,))
    thread.start()
    thread.join()
    assert seen and seen[0] is not first


def test_a_read_transaction_ends_with_its_block(db: Database) -> None:
    with db.read() as connection:
        raw = raw_of(connection)
        assert raw.in_transaction  # type: ignore[attr-defined]
    assert not raw.in_transaction  # type: ignore[attr-defined]
    with pytest.raises(ValueError), db.read() as connection:
        connection.execute(text("SELECT 1")).all()
        raise ValueError("the caller's own error")
    assert not raw.in_transaction  # type: ignore[attr-defined]
    with db.read() as connection:
        assert raw_of(connection) is raw  # kept through the error


def test_a_nested_read_takes_a_pooled_connection(db: Database) -> None:
    with db.read() as outer:
        assert outer.execute(text("SELECT sum(x) FROM probe")).scalar_one() == 1
        insert(db, 5)
        with db.read() as inner:
            assert raw_of(inner) is not raw_of(outer)
            assert inner.execute(text("SELECT sum(x) FROM probe")).scalar_one() == 6
        # The outer one is a transaction: it keeps the snapshot of its first read ...
        assert outer.execute(text("SELECT sum(x) FROM probe")).scalar_one() == 1
    assert total(db) == 6  # ... and the next one sees the commit


@pytest.mark.parametrize("through", ["sqlalchemy", "the caller"])
def test_a_kept_connection_that_breaks_is_replaced(db: Database, through: str) -> None:
    """Broken under a statement (SQLAlchemy invalidates the connection) or under the caller's
    own error (only the failed ROLLBACK tells)."""
    with db.read() as connection:
        broken = raw_of(connection)
    with pytest.raises(Exception), db.read() as connection:  # noqa: B017 - any error of the driver
        broken.close()  # type: ignore[attr-defined]
        if through == "sqlalchemy":
            connection.execute(text("SELECT 1"))
        raise ValueError("the caller's own error")
    assert total(db) == 1
    with db.read() as connection:
        assert raw_of(connection) is not broken


def test_past_the_limit_threads_read_on_pooled_connections(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "KEPT_READ_CONNECTIONS", 2)
    results: list[int] = []
    barrier = threading.Barrier(5)

    def reader() -> None:
        barrier.wait()
        for _ in range(20):
            results.append(total(db))

    threads = [threading.Thread(target=reader) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 100
    assert len(db._kept) <= 2


def test_dispose_closes_the_kept_connections_and_reads_go_on(db: Database) -> None:
    with db.read() as connection:
        before = raw_of(connection)
    db.dispose()
    assert db._kept == set()
    insert(db, 4)
    assert total(db) == 5
    with db.read() as connection:
        assert raw_of(connection) is not before


@pytest.mark.parametrize(
    "stored",
    ["2026-11-24 05:25:11.123456", "2026-11-24 05:25:11.000000", "2026-11-24 05:25:11", "1999-01-01 00:00:00.5"],
)
def test_sqlite_timestamps_read_as_sqlalchemy_reads_them(stored: str) -> None:
    dialect = sqlite.dialect()
    default = DateTime().dialect_impl(dialect).result_processor(dialect, None)
    ours = UtcDateTime().result_processor(dialect, None)
    assert default is not None and ours is not None
    assert ours(stored) == default(stored).replace(tzinfo=UTC)
    assert ours(stored).tzinfo is not None
    assert ours(None) is None


def test_timestamps_and_json_round_trip(db: Database) -> None:
    """Through the real tables: what is written is what is read."""
    db.migrate()
    moment = datetime(2026, 11, 24, 5, 25, 11, 123456, tzinfo=UTC)
    with db.write() as connection:
        connection.execute(
            text(
                "INSERT INTO sequence_stores (id, name, status, etag_algorithm_family, propagated_set_level_tags, "
                "sse_type, creation_time, update_time) VALUES ('1', 'a', 'ACTIVE', 'MD5up', '[]', 'KMS', "
                "'2026-11-24 05:25:11.123456', '2026-11-24 05:25:11.123456'), ('2', 'b', 'ACTIVE', 'MD5up', "
                "'[\"k\"]', 'KMS', '2026-11-24 05:25:11.123456', '2026-11-24 05:25:11.123456')"
            )
        )
    with db.read() as connection:
        rows = records(connection.execute(t.sequence_stores.select().order_by(t.sequence_stores.c.seq)))
        one = record(connection.execute(t.sequence_stores.select().where(t.sequence_stores.c.id == "2")))
        none = record(connection.execute(t.sequence_stores.select().where(t.sequence_stores.c.id == "3")))
    assert [row.creation_time for row in rows] == [moment, moment]
    assert [row.propagated_set_level_tags for row in rows] == [[], ["k"]]
    rows[0].propagated_set_level_tags.append("changed")  # each row has a list of its own
    assert engine._json_loads("[]") == engine._json_loads(b"[]") == [] and engine._json_loads(b"{}") == {}
    assert engine._json_loads(b'{"a": [1]}') == {"a": [1]}
    assert one is not None and one.id == "2" and one.propagated_set_level_tags == ["k"]
    assert none is None
    assert rows[1]._fields == one._fields


def test_a_thread_that_ends_gives_its_connection_back(db: Database) -> None:
    def reader() -> None:
        total(db)

    for _ in range(3):
        thread = threading.Thread(target=reader)
        thread.start()
        thread.join()
    total(db)  # this thread's
    assert len(db._kept) == 1


@pytest.fixture
def postgres() -> Iterator[Database]:
    yield from probed(new_postgres_database_url())


def backend(db: Database) -> int:
    with db.read() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_postgresql_reads_see_every_commit_without_a_transaction(postgres: Database) -> None:
    with postgres.read() as connection:
        assert connection.connection.driver_connection.autocommit  # type: ignore[union-attr]
        assert connection.execute(text("SELECT sum(x) FROM probe")).scalar_one() == 1
        insert(postgres, 2)
        assert connection.execute(text("SELECT sum(x) FROM probe")).scalar_one() == 3
    with postgres.write() as connection:  # the same pooled connection, back in transactions
        assert not connection.connection.driver_connection.autocommit  # type: ignore[union-attr]
        connection.execute(text("INSERT INTO probe VALUES (4)"))
    assert total(postgres) == 7


def test_a_postgresql_connection_the_server_dropped_is_replaced(
    postgres: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend(postgres)
    assert backend(postgres) == first  # one pooled connection, used again
    # The server ends it, as a restart or an idle timeout would; the pool does not know.
    with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    monkeypatch.setattr(engine, "PING_IDLE_SECONDS", 0.0)  # it has been idle "long enough"
    time.sleep(0.01)
    assert backend(postgres) != first
    assert total(postgres) == 1

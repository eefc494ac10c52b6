"""The metadata database: engine set-up, migrations, and short transactions."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError

MIGRATIONS = Path(__file__).with_name("migrations")
# An arbitrary constant: the PostgreSQL advisory lock that serializes concurrent migrations.
MIGRATION_LOCK_ID = 740_974_001


def _take_migration_lock(connection: Connection) -> None:
    """Wait for the migration lock by trying for it, with no transaction open between tries. A
    migration building an index CONCURRENTLY waits for every transaction open in the database;
    one blocked in pg_advisory_lock() for the lock that migration holds would be a deadlock
    (servers starting together on one database, or on schemas of one database)."""
    pause = 0.02
    while not connection.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID}).scalar():
        connection.commit()
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
    connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own implicit BEGIN is turned off; Database.read()/write() issue BEGIN themselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# On a SQLite file, each thread (up to this many) keeps one connection for its read transactions
# instead of taking one from the pool for each: the checkout, SQLAlchemy's transaction around the
# first statement and the rollbacks when the connection goes back cost ~16 µs, as much as the rest
# of an uncached GetSequenceStore. Writes still take pooled connections.
KEPT_READ_CONNECTIONS = 32


def _json_loads(text: str | bytes) -> Any:
    """json.loads for JSON columns (text from SQLite, bytes from psycopg), with the values most of
    them hold (no propagated tag keys, no tags) made without the parser: a list reads one per row."""
    if text == "[]" or text == b"[]":
        return []
    if text == "{}" or text == b"{}":
        return {}
    return json.loads(text)


@dataclass(slots=True, eq=False, weakref_slot=True)
class _Kept:
    """A thread's kept read connection (see KEPT_READ_CONNECTIONS)."""

    connection: Connection
    raw: Any  # its sqlite3 connection
    reading: bool = False


# A pooled PostgreSQL connection idle for longer than this is pinged before use, and replaced if
# the server dropped it (a restart, an idle timeout). Pinging every checkout (pool_pre_ping) costs
# a round trip per read, ~80 µs of a ~250 µs GetSequenceStore; under load a connection is never
# idle this long, and after a quiet spell no request meets a dead connection.
PING_IDLE_SECONDS = 1.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: Any, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since <= PING_IDLE_SECONDS:
        return  # new, or in steady use
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as exc:  # the pool drops this connection and checks out another
        raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


class Database:
    """Owns the engine. `read()` and `write()` give a connection inside one short transaction;
    on SQLite a write transaction takes the write lock at BEGIN (BEGIN IMMEDIATE), so concurrent
    writers wait their turn instead of failing on a lock upgrade."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine: Engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=8,
                max_overflow=16 + KEPT_READ_CONNECTIONS,
                json_deserializer=_json_loads,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_size=8, max_overflow=16, json_deserializer=_json_loads)
            event.listen(self.engine, "checkin", _note_checkin)
            event.listen(self.engine, "checkout", functools.partial(_ping_if_idle, self.engine.dialect))
        # The same pool; its connections are in autocommit mode while checked out from here.
        self._read_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._version_lock = threading.Lock()
        self._version_connection: sqlite3.Connection | None = None
        self._wal_index: int | None = None  # a descriptor of the `-shm` file, read-only
        # The SQLite file whose commits data_version() follows (None: no such file).
        database = self.engine.url.database if self.is_sqlite else None
        self._versioned_file = database if database and database != ":memory:" else None
        # The connections threads keep for reading (see KEPT_READ_CONNECTIONS), closed by dispose().
        self._keeps_reads = self._versioned_file is not None
        self._kept: set[Connection] = set()
        self._kept_lock = threading.Lock()
        self._local = threading.local()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call from several processes)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as connection:
            if not self.is_sqlite:
                _take_migration_lock(connection)
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                if not self.is_sqlite:
                    connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                    connection.commit()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            if self.is_sqlite:
                # BEGIN/COMMIT straight on the driver: SQLAlchemy's statement machinery costs
                # more than the statements themselves on this hot path.
                raw = connection.connection.driver_connection
                assert raw is not None
                raw.execute(begin)
                try:
                    yield connection
                except BaseException:
                    raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
            else:
                with connection.begin():
                    yield connection

    def read(self) -> Any:
        """A transaction for reading (on PostgreSQL, statements that each see what was committed
        when they began, without a transaction around them: see _autocommit_read)."""
        if self._keeps_reads:
            return self._kept_read()
        if not self.is_sqlite:
            return self._autocommit_read()
        return self._transaction("BEGIN")

    @contextmanager
    def _autocommit_read(self) -> Iterator[Connection]:
        """A PostgreSQL connection in autocommit mode. In READ COMMITTED, PostgreSQL's default
        and this server's, each statement of a transaction sees the data committed when it
        began, exactly as each statement on its own does: a transaction around reads only costs
        its BEGIN and COMMIT, two round trips of the three a one-query read took."""
        with self._read_engine.connect() as connection:
            yield connection

    @contextmanager
    def _kept_read(self) -> Iterator[Connection]:
        """A read transaction on this thread's kept connection; on a pooled one when the thread
        is inside a read already or no connection can be kept."""
        local = self._local
        kept: _Kept | None = getattr(local, "kept", None)
        if kept is None or kept.connection.closed or kept.connection.invalidated:
            kept = local.kept = self._keep_connection()
        if kept is None or kept.reading:
            with self._transaction("BEGIN") as connection:
                yield connection
            return
        connection, raw = kept.connection, kept.raw
        kept.reading = True
        try:
            raw.execute("BEGIN")
            try:
                yield connection
            except BaseException:
                try:
                    raw.execute("ROLLBACK")
                except Exception:
                    self._release(connection)
                raise
            raw.execute("COMMIT")
        except BaseException:
            if connection.invalidated or raw.in_transaction:
                self._release(connection)
            raise
        finally:
            kept.reading = False

    def _keep_connection(self) -> _Kept | None:
        with self._kept_lock:
            if len(self._kept) >= KEPT_READ_CONNECTIONS:
                return None
            connection = self.engine.connect()
            self._kept.add(connection)
        kept = _Kept(connection, connection.connection.driver_connection)
        # When the thread ends, its threading.local lets go of `kept`, and the connection goes back.
        weakref.finalize(kept, self._release, connection)
        return kept

    def _release(self, connection: Connection) -> None:
        """Close a kept connection (one that failed, or whose thread ended); a thread that still
        has it keeps a new one on its next read."""
        with self._kept_lock:
            self._kept.discard(connection)
        if connection.closed:
            return
        with contextlib.suppress(Exception):
            raw = connection.connection.driver_connection
            if raw is None or raw.in_transaction:
                connection.invalidate()  # not back into the pool mid-transaction
        with contextlib.suppress(Exception):
            connection.close()

    def write(self) -> Any:
        """A transaction for writing."""
        return self._transaction("BEGIN IMMEDIATE")

    def lock(self, connection: Connection, key: str) -> None:
        """Serialize, until the end of the transaction, the writers that take the same key (e.g.
        two retries of a create with one clientToken). SQLite write transactions are serialized
        already; PostgreSQL takes a transaction-level advisory lock."""
        if not self.is_sqlite:
            number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": number})

    def data_version(self) -> object | None:
        """A value that changes whenever any connection, in this process or another, commits a
        change to the database (and may change without one); None where the backend has no
        cheap counter of that kind (PostgreSQL, an in-memory SQLite database).

        In WAL mode every commit rewrites the WAL-index header at the start of the `-shm` file
        (https://www.sqlite.org/walformat.html: two copies of a 48-byte header holding the
        change counter, the last frame and the salts; the writer updates the second copy, then
        the first). Reading both copies with pread costs ~1 µs; `PRAGMA data_version` costs
        ~4 µs plus the shared-memory locking, which under load took 13% of GetSequenceStore's
        requests/s. The pragma answers when the header cannot be read consistently. A
        connection of this object's own stays open so that SQLite keeps the `-shm` file."""
        if self._versioned_file is None:
            return None
        if self._version_connection is None:
            self._open_version_connection(self._versioned_file)
        wal_index = self._wal_index
        if wal_index is not None:
            try:
                header = os.pread(wal_index, 96, 0)
            except OSError:  # closed by dispose() meanwhile
                header = b""
            if len(header) == 96 and header[:48] == header[48:] and header[12] == 1:  # isInit
                return header[:48]
        with self._version_lock:
            assert self._version_connection is not None
            return int(self._version_connection.execute("PRAGMA data_version").fetchone()[0])

    def _open_version_connection(self, database: str) -> None:
        with self._version_lock:
            if self._version_connection is not None:
                return
            connection = sqlite3.connect(database, check_same_thread=False, isolation_level=None, timeout=30)
            # A first read maps the WAL index; the connection holds it (and SQLite keeps the
            # `-shm` file) until it closes.
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            try:
                if str(mode).lower() == "wal":
                    self._wal_index = os.open(f"{database}-shm", os.O_RDONLY)
            except OSError:
                self._wal_index = None
            self._version_connection = connection

    def dispose(self) -> None:
        with self._version_lock:
            if self._wal_index is not None:
                os.close(self._wal_index)
                self._wal_index = None
            if self._version_connection is not None:
                self._version_connection.close()
                self._version_connection = None
        with self._kept_lock:
            kept, self._kept = self._kept, set()
        for connection in kept:  # the threads that kept them find them closed and keep new ones
            with contextlib.suppress(Exception):
                connection.close()
        self.engine.dispose()

"""The Alembic migrations build exactly the schema that seqstore/db/schema.py declares (on the
database of this pass: SQLite, or PostgreSQL under SEQSTORE_TEST_DATABASE=postgresql), and running
them again changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from seqstore.db.engine import Database
from seqstore.db.schema import metadata
from tests.helpers.backends import TEST_DATABASE, migrate_to, new_postgres_database_url


def test_migrations_match_the_declared_schema(tmp_path: Path) -> None:
    url = new_postgres_database_url() if TEST_DATABASE == "postgresql" else f"sqlite:///{tmp_path / 'm.db'}"
    db = Database(url)
    try:
        db.migrate()
        db.migrate()  # a second process starting later: nothing to do
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert differences == []
    finally:
        db.dispose()


# Columns of the store tables besides name and times, as the revision before the alias had them.
OLDER_STORES = {
    "sequence_stores": (
        "0008",
        ", status, etag_algorithm_family, propagated_set_level_tags, sse_type",
        ", 'ACTIVE', 'MD5up', '[]', 'KMS'",
    ),
    "reference_stores": ("0010", ", sse_type", ", 'KMS'"),
}


@pytest.mark.parametrize("table", sorted(OLDER_STORES))
def test_migrations_0009_and_0011_give_every_existing_store_an_alias(tmp_path: Path, table: str) -> None:
    """Stores created before access point aliases get one, each its own (docs/s3.md, "Names"):
    sequence stores by 0009, reference stores by 0011."""
    from sqlalchemy import text

    older, columns, values = OLDER_STORES[table]
    url = new_postgres_database_url() if TEST_DATABASE == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            migrate_to(connection, older)
            for store_id in ("0000000001", "0000000002"):
                connection.execute(text(
                    f"INSERT INTO {table} (id, name{columns}, creation_time, update_time)"
                    f" VALUES (:id, 'old'{values}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": store_id})
            connection.commit()
        db.migrate()
        with db.engine.connect() as connection:
            tokens = [row[0] for row in connection.execute(text(f"SELECT s3_alias_token FROM {table}"))]
        assert len(tokens) == 2 and len(set(tokens)) == 2
        assert all(token and len(token) == 24 and token.isalnum() and token == token.lower() for token in tokens)
    finally:
        db.dispose()


CONCURRENT_INDEXES = {  # the indexes migrations 0004-0008 and 0012 add to tables that may be large and in use
    "ix_read_sets_store_sample", "ix_read_sets_store_subject", "ix_read_sets_status_access",
    "ix_read_sets_store_created", "ix_read_sets_store_generated", "ix_jobs_store_kind_created",
    "ix_references_store_created", "ix_read_sets_store_status_id",
}  # fmt: skip


def test_postgresql_builds_the_later_indexes_concurrently_and_replaces_an_invalid_one() -> None:
    """On PostgreSQL, migrations 0004-0008 and 0012 build their indexes CONCURRENTLY (writes to the tables
    go on meanwhile); an index left INVALID by an interrupted build is built again."""
    from sqlalchemy import event, text

    db = Database(new_postgres_database_url())
    try:
        with db.engine.connect() as connection:
            migrate_to(connection, "0006")
            connection.commit()
            # What an interrupted concurrent build of 0007's index leaves: an INVALID index.
            connection.execute(text(
                "INSERT INTO sequence_stores (id, name, status, etag_algorithm_family, propagated_set_level_tags,"
                " sse_type, creation_time, update_time) VALUES ('0000000001', 'a', 'ACTIVE', 'MD5up', '[]', 'KMS',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), ('0000000002', 'a', 'ACTIVE', 'MD5up', '[]', 'KMS',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))  # fmt: skip
            connection.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            with pytest.raises(IntegrityError):  # the duplicate names fail it; the index stays, INVALID
                connection.execute(text(
                    "CREATE UNIQUE INDEX CONCURRENTLY ix_read_sets_store_generated ON sequence_stores (name)"))
            invalid = connection.execute(text(
                "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 'ix_read_sets_store_generated'::regclass"
            )).scalar_one()  # fmt: skip
            assert invalid
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        db.migrate()
        built = {s.split()[3].strip('"') for s in statements if s.startswith("CREATE INDEX CONCURRENTLY")}
        assert built == {
            "ix_read_sets_store_generated", "ix_jobs_store_kind_created", "ix_references_store_created",
            "ix_read_sets_store_status_id",
        }  # fmt: skip
        with db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT c.relname, i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'ix_read_sets_store_generated'"
                " AND c.relnamespace = current_schema()::regnamespace"
            )).all()  # fmt: skip
        assert len(rows) == 1 and rows[0][1] and "read_sets" in rows[0][2], rows
    finally:
        db.dispose()


def test_a_fresh_postgresql_database_gets_every_later_index_valid() -> None:
    from sqlalchemy import text

    db = Database(new_postgres_database_url())
    try:
        db.migrate()
        with db.engine.connect() as connection:
            valid = dict(connection.execute(text(
                "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE c.relname LIKE 'ix_%' AND c.relnamespace = current_schema()::regnamespace"
            )).all())  # fmt: skip
        assert {name: valid.get(name) for name in CONCURRENT_INDEXES} == dict.fromkeys(CONCURRENT_INDEXES, True)
    finally:
        db.dispose()


def test_postgresql_migrations_started_at_once_all_finish() -> None:
    """Servers starting together on fresh databases (one schema shared by two of them): each waits
    for the migration lock without an open transaction, since a concurrent index build waits for
    every open transaction of the database, and one waiting for the lock held by the builder
    would be a deadlock."""
    from concurrent.futures import ThreadPoolExecutor

    shared = new_postgres_database_url()
    databases = [Database(url) for url in (shared, shared, new_postgres_database_url(), new_postgres_database_url())]
    try:
        with ThreadPoolExecutor(len(databases)) as pool:
            for future in [pool.submit(db.migrate) for db in databases]:
                future.result(timeout=120)
        for db in databases:
            with db.engine.connect() as connection:
                assert not compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        for db in databases:
            db.dispose()


def test_migration_0013_adds_the_scrub_tables_empty_and_its_downgrade_drops_them(tmp_path: Path) -> None:
    """0013 adds only the background scrub's tables (docs/operations.md, "Background scrub"), empty:
    the first pass starts from nothing; going back to 0012 removes them again."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect, text

    from seqstore.db.engine import MIGRATIONS

    url = new_postgres_database_url() if TEST_DATABASE == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            migrate_to(connection, "0012")
            connection.commit()
            before = set(inspect(connection).get_table_names())
        db.migrate()
        with db.engine.connect() as connection:
            after = set(inspect(connection).get_table_names())
            assert after - before == {"scrub_state", "scrub_findings"}
            for table in ("scrub_state", "scrub_findings"):
                assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.downgrade(config, "0012")
            connection.commit()
            assert set(inspect(connection).get_table_names()) == before
    finally:
        db.dispose()

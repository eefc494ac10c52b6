"""The Alembic migrations build exactly the schema that seqstore/db/schema.py declares (on the
database of this pass: SQLite, or PostgreSQL under SEQSTORE_TEST_DATABASE=postgresql), and running
them again changes nothing."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from seqstore.db.engine import Database
from seqstore.db.schema import metadata
from tests.helpers.backends import TEST_DATABASE, new_postgres_database_url


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

"""The Alembic migrations build exactly the schema that seqstore/db/schema.py declares (on the
database of this pass: SQLite, or PostgreSQL under SEQSTORE_TEST_DATABASE=postgresql), and running
them again changes nothing."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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


def test_migration_0009_gives_every_existing_store_an_alias(tmp_path: Path) -> None:
    """Stores created before access point aliases get one, each its own (docs/s3.md, "Names")."""
    from sqlalchemy import text

    url = new_postgres_database_url() if TEST_DATABASE == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            migrate_to(connection, "0008")
            for store_id in ("0000000001", "0000000002"):
                connection.execute(text(
                    "INSERT INTO sequence_stores (id, name, status, etag_algorithm_family, propagated_set_level_tags,"
                    " sse_type, creation_time, update_time) VALUES (:id, 'old', 'ACTIVE', 'MD5up', '[]', 'KMS',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": store_id})
            connection.commit()
        db.migrate()
        with db.engine.connect() as connection:
            tokens = [row[0] for row in connection.execute(text("SELECT s3_alias_token FROM sequence_stores"))]
        assert len(tokens) == 2 and len(set(tokens)) == 2
        assert all(token and len(token) == 24 and token.isalnum() and token == token.lower() for token in tokens)
    finally:
        db.dispose()

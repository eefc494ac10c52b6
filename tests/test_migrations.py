"""The Alembic migrations build exactly the schema that seqstore/db/schema.py declares (on the
database of this pass: SQLite, or PostgreSQL under SEQSTORE_TEST_DATABASE=postgresql), and running
them again changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
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

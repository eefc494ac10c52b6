"""Index creation for migrations that index tables which may be large and in use.

On PostgreSQL a plain CREATE INDEX holds a lock that blocks every write to the table until the
index is built (minutes at millions of read sets), so these indexes are built CONCURRENTLY, which
cannot run inside a transaction: outside the migration's transaction, in an autocommit block.
A concurrent build that was interrupted (a crash, a killed process) leaves an INVALID index of
that name behind, and the migration was not recorded, so it runs again: the index is dropped
first and built anew. SQLite builds indexes as before (its writers wait for the migration
anyway; seqstore takes its lock for the whole upgrade)."""

from __future__ import annotations

from alembic import op


def create_index(name: str, table: str, columns: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(name, table, columns)
        return
    with op.get_context().autocommit_block():
        op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        op.create_index(name, table, columns, postgresql_concurrently=True)


def drop_index(name: str, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True)

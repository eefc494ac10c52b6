"""An index for ListReadSets filtered by generatedFrom: without it PostgreSQL walks the store's
read sets in `seq` order and reads every row until a page is full, so a value that names a few
read sets reads the whole store (bench/scale.py).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_read_sets_store_generated", "read_sets", ["sequence_store_id", "generated_from", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_read_sets_store_generated", table_name="read_sets")

"""An index for ListReadSets filtered by generatedFrom: without it PostgreSQL walks the store's
read sets in `seq` order and reads every row until a page is full, so a value that names a few
read sets reads the whole store (bench/scale.py).

Revision ID: 0007
Revises: 0006
"""

from seqstore.db.migrations.indexes import create_index, drop_index

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_index("ix_read_sets_store_generated", "read_sets", ["sequence_store_id", "generated_from", "seq"])


def downgrade() -> None:
    drop_index("ix_read_sets_store_generated", "read_sets")

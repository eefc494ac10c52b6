"""An index for ListReadSets filtered by createdAfter/createdBefore, which pages on
(creation_time, seq): without it PostgreSQL walks the store's read sets in `seq` order and reads
every older row before the newest ones, 0.5 s a call at 1M read sets in a store (bench/scale.py).

Revision ID: 0006
Revises: 0005
"""

from seqstore.db.migrations.indexes import create_index, drop_index

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_index("ix_read_sets_store_created", "read_sets", ["sequence_store_id", "creation_time", "seq"])


def downgrade() -> None:
    drop_index("ix_read_sets_store_created", "read_sets")

"""An index for ListReadSets filtered by createdAfter/createdBefore, which pages on
(creation_time, seq): without it PostgreSQL walks the store's read sets in `seq` order and reads
every older row before the newest ones, 0.5 s a call at 1M read sets in a store (bench/scale.py).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_read_sets_store_created", "read_sets", ["sequence_store_id", "creation_time", "seq"])


def downgrade() -> None:
    op.drop_index("ix_read_sets_store_created", table_name="read_sets")

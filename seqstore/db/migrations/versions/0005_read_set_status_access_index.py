"""An index for the archiver (ACTIVE read sets not read since a cutoff, across all stores) and the
DELETING sweep at start: without it both read every read set of every store.

Revision ID: 0005
Revises: 0004
"""

from seqstore.db.migrations.indexes import create_index, drop_index

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_index("ix_read_sets_status_access", "read_sets", ["status", "last_access_time"])


def downgrade() -> None:
    drop_index("ix_read_sets_status_access", "read_sets")

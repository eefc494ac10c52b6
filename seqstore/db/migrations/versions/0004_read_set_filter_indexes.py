"""Indexes for ListReadSets filtered by sampleId or subjectId: without them PostgreSQL walks the
store's read sets in `seq` order and reads every row until a page is full, 0.3-0.5 s a call at
1M read sets in a store (bench/scale.py).

Revision ID: 0004
Revises: 0003
"""

from seqstore.db.migrations.indexes import create_index, drop_index

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_index("ix_read_sets_store_sample", "read_sets", ["sequence_store_id", "sample_id", "seq"])
    create_index("ix_read_sets_store_subject", "read_sets", ["sequence_store_id", "subject_id", "seq"])


def downgrade() -> None:
    drop_index("ix_read_sets_store_subject", "read_sets")
    drop_index("ix_read_sets_store_sample", "read_sets")

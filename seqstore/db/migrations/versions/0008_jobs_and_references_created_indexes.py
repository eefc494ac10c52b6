"""Indexes for the lists of jobs and of references filtered by createdAfter/createdBefore, which
page on (creation_time, seq) as ListReadSets does (0006): without them PostgreSQL walks a store's
jobs in `seq` order and reads every older one before the newest, 104 ms a ListReadSetImportJobs
call for the last minute's jobs at 1M jobs in a store (bench/list_jobs_scale.py).

Revision ID: 0008
Revises: 0007
"""

from seqstore.db.migrations.indexes import create_index, drop_index

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_index("ix_jobs_store_kind_created", "jobs", ["store_id", "kind", "creation_time", "seq"])
    create_index("ix_references_store_created", "references", ["reference_store_id", "creation_time", "seq"])


def downgrade() -> None:
    drop_index("ix_references_store_created", "references")
    drop_index("ix_jobs_store_kind_created", "jobs")

"""The background scrub's tables: `scrub_state` (one row: the lease of the worker scrubbing, the
pass under way and its cursor, totals for the metrics) and `scrub_findings` (a problem per stored
file, open until a later pass finds the file fine). New and empty: nothing else changes.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scrub_state",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires", sa.DateTime(), nullable=True),
        sa.Column("pass_started", sa.DateTime(), nullable=True),
        sa.Column("pass_completed", sa.DateTime(), nullable=True),
        sa.Column("cursor_kind", sa.String(length=16), nullable=True),
        sa.Column("cursor_seq", sa.BigInteger(), nullable=True),
        sa.Column("passes", sa.BigInteger(), nullable=False),
        sa.Column("subjects_total", sa.BigInteger(), nullable=False),
        sa.Column("bytes_total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "scrub_findings",
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("file", sa.String(length=16), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("subject_kind", "subject_id", "file"),
    )


def downgrade() -> None:
    op.drop_table("scrub_findings")
    op.drop_table("scrub_state")

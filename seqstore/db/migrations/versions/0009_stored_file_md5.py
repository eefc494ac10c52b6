"""The MD5 of each stored file's bytes, for `seqstore verify`: recorded the first time a file is
verified (NULL until then), compared on every later verification.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: no table rewrite on SQLite or PostgreSQL.
    op.add_column("read_set_files", sa.Column("md5", sa.String(32)))
    op.add_column("reference_files", sa.Column("md5", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("reference_files") as batch:
        batch.drop_column("md5")
    with op.batch_alter_table("read_set_files") as batch:
        batch.drop_column("md5")

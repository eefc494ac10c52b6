"""The MD5 of each stored file's bytes: recorded when ingestion or a reference import stores the
file (DRS serves it as the file's checksum; `seqstore verify` compares against it), NULL for
files stored before this revision until something records it.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
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

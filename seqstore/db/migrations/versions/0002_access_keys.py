"""Access keys for SigV4 verification.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("revoked_time", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("access_key_id"),
    )


def downgrade() -> None:
    op.drop_table("access_keys")

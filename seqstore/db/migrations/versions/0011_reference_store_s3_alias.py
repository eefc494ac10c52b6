"""Each reference store's S3 access point alias, as 0009 gave sequence stores theirs: the random
part of `{account}-{storeId}-{random}-s3alias`, the bucket of the s3Uri of every reference file
GetReferenceMetadata returns and a name the S3 data plane answers to. Stores created before this
revision get theirs here; it stays the same for the store's life.

Revision ID: 0011
Revises: 0010
"""

import secrets
import string

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reference_stores", sa.Column("s3_alias_token", sa.String(length=32), nullable=True))
    stores = sa.table("reference_stores", sa.column("id", sa.String), sa.column("s3_alias_token", sa.String))
    connection = op.get_bind()
    letters = string.ascii_lowercase + string.digits
    for store_id in connection.execute(sa.select(stores.c.id)).scalars().all():
        token = "".join(secrets.choice(letters) for _ in range(24))  # store/s3_aliases.py's TOKEN_LENGTH
        connection.execute(sa.update(stores).where(stores.c.id == store_id).values(s3_alias_token=token))


def downgrade() -> None:
    with op.batch_alter_table("reference_stores") as batch:
        batch.drop_column("s3_alias_token")

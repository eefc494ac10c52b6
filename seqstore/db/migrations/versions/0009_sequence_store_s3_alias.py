"""Each sequence store's S3 access point alias: the random part of
`{account}-{storeId}-{random}-s3alias`, the bucket of every s3Uri the store returns and the name
the S3 data plane answers to (the account and id parts come from the server and the row). Stores
created before this revision get theirs here; it stays the same for the store's life.

Revision ID: 0009
Revises: 0008
"""

import secrets
import string

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ALPHABET = string.ascii_lowercase + string.digits
TOKEN_LENGTH = 24  # 12 + 1 + 10 + 1 + 24 + 8 = 56 characters: within a bucket name's 63


def upgrade() -> None:
    op.add_column("sequence_stores", sa.Column("s3_alias_token", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    stores = sa.table("sequence_stores", sa.column("id", sa.String), sa.column("s3_alias_token", sa.String))
    for (store_id,) in connection.execute(sa.select(stores.c.id)).all():
        token = "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))
        connection.execute(sa.update(stores).where(stores.c.id == store_id).values(s3_alias_token=token))


def downgrade() -> None:
    with op.batch_alter_table("sequence_stores") as batch:
        batch.drop_column("s3_alias_token")

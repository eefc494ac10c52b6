"""An index for the S3 plane's ListObjectsV2, which walks a store's ACTIVE read sets in id order
(keys are `.../readSet/{id}/{file name}`): without it every page sorted all of the store's ACTIVE
read sets to return the next thousand keys, a time that grew with the store (bench/s3_listing.py).

Revision ID: 0012
Revises: 0011
"""

from seqstore.db.migrations.indexes import create_index, drop_index

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_index("ix_read_sets_store_status_id", "read_sets", ["sequence_store_id", "status", "id"])


def downgrade() -> None:
    drop_index("ix_read_sets_store_status_id", "read_sets")

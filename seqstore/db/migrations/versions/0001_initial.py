"""Initial schema: every resource of the storage API.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 19:30:43.867560
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "jobs",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_message", sa.String(length=255), nullable=True),
        sa.Column("role_arn", sa.String(length=2048), nullable=True),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("runnable", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("completion_time", sa.DateTime(), nullable=True),
        sa.Column("client_token", sa.String(length=127), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_runnable", ["runnable", "seq"], unique=False)
        batch_op.create_index("ix_jobs_store_kind", ["store_id", "kind", "seq"], unique=False)

    op.create_table(
        "reference_stores",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=127), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("sse_type", sa.String(length=16), nullable=False),
        sa.Column("sse_key_arn", sa.String(length=2048), nullable=True),
        sa.Column("client_token", sa.String(length=127), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("reference_stores", schema=None) as batch_op:
        batch_op.create_index("ix_reference_stores_client_token", ["client_token"], unique=False)

    op.create_table(
        "s3_access_policies",
        sa.Column("s3_access_point_arn", sa.String(length=1024), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("store_type", sa.String(length=16), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("s3_access_point_arn"),
        sa.UniqueConstraint("store_id", "store_type"),
    )
    op.create_table(
        "sequence_stores",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=127), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.String(length=127), nullable=True),
        sa.Column("etag_algorithm_family", sa.String(length=16), nullable=False),
        sa.Column("fallback_location", sa.Text(), nullable=True),
        sa.Column("propagated_set_level_tags", sa.JSON(), nullable=False),
        sa.Column("sse_type", sa.String(length=16), nullable=False),
        sa.Column("sse_key_arn", sa.String(length=2048), nullable=True),
        sa.Column("access_log_location", sa.Text(), nullable=True),
        sa.Column("client_token", sa.String(length=127), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("sequence_stores", schema=None) as batch_op:
        batch_op.create_index("ix_sequence_stores_client_token", ["client_token"], unique=False)
        batch_op.create_index("ix_sequence_stores_name", ["name", "seq"], unique=False)

    op.create_table(
        "tags",
        sa.Column("resource_arn", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("resource_arn", "key"),
    )
    op.create_table(
        "job_items",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.String(length=255), nullable=True),
        sa.Column("result_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
        ),
        sa.PrimaryKeyConstraint("job_id", "position"),
    )
    op.create_table(
        "read_sets",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sequence_store_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=127), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("subject_id", sa.String(length=127), nullable=True),
        sa.Column("sample_id", sa.String(length=127), nullable=True),
        sa.Column("generated_from", sa.String(length=127), nullable=True),
        sa.Column("reference_arn", sa.String(length=127), nullable=True),
        sa.Column("file_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("status_message", sa.String(length=255), nullable=True),
        sa.Column("creation_type", sa.String(length=8), nullable=False),
        sa.Column("creation_job_id", sa.String(length=127), nullable=True),
        sa.Column("read_count", sa.BigInteger(), nullable=True),
        sa.Column("base_count", sa.BigInteger(), nullable=True),
        sa.Column("alignment", sa.String(length=16), nullable=True),
        sa.Column("etag_algorithm", sa.String(length=16), nullable=True),
        sa.Column("etag_source1", sa.String(length=128), nullable=True),
        sa.Column("etag_source2", sa.String(length=128), nullable=True),
        sa.Column("last_access_time", sa.DateTime(), nullable=True),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sequence_store_id"],
            ["sequence_stores.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("read_sets", schema=None) as batch_op:
        batch_op.create_index("ix_read_sets_reference", ["reference_arn"], unique=False)
        batch_op.create_index("ix_read_sets_store", ["sequence_store_id", "seq"], unique=False)
        batch_op.create_index("ix_read_sets_store_name", ["sequence_store_id", "name", "seq"], unique=False)
        batch_op.create_index(
            "ix_read_sets_store_status", ["sequence_store_id", "status", "seq"], unique=False
        )

    op.create_table(
        "references",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference_store_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("md5", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.String(length=255), nullable=True),
        sa.Column("creation_type", sa.String(length=8), nullable=False),
        sa.Column("creation_job_id", sa.String(length=127), nullable=True),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference_store_id"],
            ["reference_stores.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("references", schema=None) as batch_op:
        batch_op.create_index("ix_references_store", ["reference_store_id", "seq"], unique=False)

    op.create_table(
        "uploads",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sequence_store_id", sa.String(length=36), nullable=False),
        sa.Column("source_file_type", sa.String(length=8), nullable=False),
        sa.Column("subject_id", sa.String(length=127), nullable=False),
        sa.Column("sample_id", sa.String(length=127), nullable=False),
        sa.Column("name", sa.String(length=127), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("generated_from", sa.String(length=127), nullable=True),
        sa.Column("reference_arn", sa.String(length=127), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("read_set_id", sa.String(length=36), nullable=True),
        sa.Column("client_token", sa.String(length=127), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sequence_store_id"],
            ["sequence_stores.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index("ix_uploads_store_status", ["sequence_store_id", "status", "seq"], unique=False)

    op.create_table(
        "read_set_files",
        sa.Column("read_set_id", sa.String(length=36), nullable=False),
        sa.Column("file", sa.String(length=8), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_length", sa.BigInteger(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["read_set_id"],
            ["read_sets.id"],
        ),
        sa.PrimaryKeyConstraint("read_set_id", "file"),
    )
    op.create_table(
        "reference_files",
        sa.Column("reference_id", sa.String(length=36), nullable=False),
        sa.Column("file", sa.String(length=8), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_length", sa.BigInteger(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference_id"],
            ["references.id"],
        ),
        sa.PrimaryKeyConstraint("reference_id", "file"),
    )
    op.create_table(
        "upload_parts",
        sa.Column("upload_id", sa.String(length=36), nullable=False),
        sa.Column("part_source", sa.String(length=8), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(length=100), nullable=False),
        sa.Column("creation_time", sa.DateTime(), nullable=False),
        sa.Column("update_time", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["uploads.id"],
        ),
        sa.PrimaryKeyConstraint("upload_id", "part_source", "part_number"),
    )


def downgrade() -> None:

    op.drop_table("upload_parts")
    op.drop_table("reference_files")
    op.drop_table("read_set_files")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_uploads_store_status")

    op.drop_table("uploads")
    with op.batch_alter_table("references", schema=None) as batch_op:
        batch_op.drop_index("ix_references_store")

    op.drop_table("references")
    with op.batch_alter_table("read_sets", schema=None) as batch_op:
        batch_op.drop_index("ix_read_sets_store_status")
        batch_op.drop_index("ix_read_sets_store_name")
        batch_op.drop_index("ix_read_sets_store")
        batch_op.drop_index("ix_read_sets_reference")

    op.drop_table("read_sets")
    op.drop_table("job_items")
    op.drop_table("tags")
    with op.batch_alter_table("sequence_stores", schema=None) as batch_op:
        batch_op.drop_index("ix_sequence_stores_name")
        batch_op.drop_index("ix_sequence_stores_client_token")

    op.drop_table("sequence_stores")
    op.drop_table("s3_access_policies")
    with op.batch_alter_table("reference_stores", schema=None) as batch_op:
        batch_op.drop_index("ix_reference_stores_client_token")

    op.drop_table("reference_stores")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_store_kind")
        batch_op.drop_index("ix_jobs_runnable")

    op.drop_table("jobs")

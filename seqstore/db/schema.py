"""Tables for every resource of the storage API (SQLAlchemy Core).

Each listed resource has an integer `seq` that only grows: pages are cut on it (keyset
pagination), so a page boundary stays put while other rows are inserted. Migrations in
`migrations/versions/` create exactly these tables; change both together."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no time zones), returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite holds the text SQLAlchemy wrote ("2026-11-24 05:25:11.123456"): read with its
        # zone in one C call it takes ~0.1 µs, where SQLAlchemy's parse and then
        # datetime.replace(tzinfo=UTC) take ~0.7 µs, twice for every row of a list.
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            return None if value is None else parse(value + "+00:00")

        return process


metadata = MetaData()


def _seq() -> Column[int]:
    return Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


def _times() -> list[Column[Any]]:
    return [
        Column("creation_time", UtcDateTime, nullable=False),
        Column("update_time", UtcDateTime, nullable=False),
    ]


def _idempotency() -> list[Column[Any]]:
    # clientToken plus a hash of the rest of the request: same token + same input = same resource.
    return [
        Column("client_token", String(127)),
        Column("request_hash", String(64)),
    ]


sequence_stores = Table(
    "sequence_stores",
    metadata,
    _seq(),
    Column("id", String(36), nullable=False, unique=True),
    Column("name", String(127), nullable=False),
    Column("description", String(255)),
    Column("status", String(16), nullable=False),
    Column("status_message", String(127)),
    Column("etag_algorithm_family", String(16), nullable=False),
    Column("fallback_location", Text),
    Column("propagated_set_level_tags", JSON, nullable=False),
    Column("sse_type", String(16), nullable=False),
    Column("sse_key_arn", String(2048)),
    Column("access_log_location", Text),
    # The random part of the store's S3 access point alias (store/s3_aliases.py); set at create,
    # backfilled by migration 0009 for older stores.
    Column("s3_alias_token", String(32)),
    *_idempotency(),
    *_times(),
    Index("ix_sequence_stores_client_token", "client_token"),
    Index("ix_sequence_stores_name", "name", "seq"),
)

read_sets = Table(
    "read_sets",
    metadata,
    _seq(),
    Column("id", String(36), nullable=False, unique=True),
    Column("sequence_store_id", String(36), ForeignKey("sequence_stores.id"), nullable=False),
    Column("name", String(127)),
    Column("description", String(255)),
    Column("subject_id", String(127)),
    Column("sample_id", String(127)),
    Column("generated_from", String(127)),
    Column("reference_arn", String(127)),
    Column("file_type", String(8), nullable=False),
    Column("status", String(24), nullable=False),
    Column("status_message", String(255)),
    Column("creation_type", String(8), nullable=False),
    Column("creation_job_id", String(127)),
    Column("read_count", BigInteger),
    Column("base_count", BigInteger),
    Column("alignment", String(16)),
    Column("etag_algorithm", String(16)),
    Column("etag_source1", String(128)),
    Column("etag_source2", String(128)),
    Column("last_access_time", UtcDateTime),
    *_times(),
    Index("ix_read_sets_store", "sequence_store_id", "seq"),
    Index("ix_read_sets_store_status", "sequence_store_id", "status", "seq"),
    Index("ix_read_sets_store_name", "sequence_store_id", "name", "seq"),
    # ListReadSets filters: a selective filter without an index makes a page read the whole store.
    Index("ix_read_sets_store_sample", "sequence_store_id", "sample_id", "seq"),
    Index("ix_read_sets_store_subject", "sequence_store_id", "subject_id", "seq"),
    Index("ix_read_sets_store_generated", "sequence_store_id", "generated_from", "seq"),
    Index("ix_read_sets_reference", "reference_arn"),
    # Filtered by creation time, ListReadSets pages on (creation_time, seq): the newest read sets
    # without walking the store's older ones.
    Index("ix_read_sets_store_created", "sequence_store_id", "creation_time", "seq"),
    # Across stores: the archiver's ACTIVE-and-not-read-since query, the DELETING sweep on start.
    Index("ix_read_sets_status_access", "status", "last_access_time"),
    # ListObjectsV2 of the S3 plane walks a store's ACTIVE read sets in id order (0012).
    Index("ix_read_sets_store_status_id", "sequence_store_id", "status", "id"),
)

read_set_files = Table(
    "read_set_files",
    metadata,
    Column("read_set_id", String(36), ForeignKey("read_sets.id"), primary_key=True),
    Column("file", String(8), primary_key=True),  # source1, source2, index
    Column("blob_key", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("content_length", BigInteger, nullable=False),
    Column("part_size", BigInteger, nullable=False),
    Column("md5", String(32)),  # of the stored bytes (0010): recorded at ingestion; `seqstore verify` checks it
)

uploads = Table(
    "uploads",
    metadata,
    _seq(),
    Column("id", String(36), nullable=False, unique=True),
    Column("sequence_store_id", String(36), ForeignKey("sequence_stores.id"), nullable=False),
    Column("source_file_type", String(8), nullable=False),
    Column("subject_id", String(127), nullable=False),
    Column("sample_id", String(127), nullable=False),
    Column("name", String(127), nullable=False),
    Column("description", String(255)),
    Column("generated_from", String(127)),
    Column("reference_arn", String(127)),
    Column("tags", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # IN_PROGRESS, COMPLETED, ABORTED
    Column("read_set_id", String(36)),
    *_idempotency(),
    *_times(),
    Index("ix_uploads_store_status", "sequence_store_id", "status", "seq"),
)

upload_parts = Table(
    "upload_parts",
    metadata,
    Column("upload_id", String(36), ForeignKey("uploads.id"), primary_key=True),
    Column("part_source", String(8), primary_key=True),
    Column("part_number", Integer, primary_key=True),
    Column("blob_key", Text, nullable=False),
    Column("part_size", BigInteger, nullable=False),
    Column("checksum", String(100), nullable=False),
    *_times(),
)

reference_stores = Table(
    "reference_stores",
    metadata,
    _seq(),
    Column("id", String(36), nullable=False, unique=True),
    Column("name", String(127), nullable=False),
    Column("description", String(255)),
    Column("sse_type", String(16), nullable=False),
    Column("sse_key_arn", String(2048)),
    # The random part of the store's S3 access point alias (store/s3_aliases.py); set at create,
    # backfilled by migration 0011 for older stores.
    Column("s3_alias_token", String(32)),
    *_idempotency(),
    *_times(),
    Index("ix_reference_stores_client_token", "client_token"),
)

references = Table(
    "references",
    metadata,
    _seq(),
    Column("id", String(36), nullable=False, unique=True),
    Column("reference_store_id", String(36), ForeignKey("reference_stores.id"), nullable=False),
    Column("name", String(255)),
    Column("description", String(255)),
    Column("md5", String(255)),
    Column("status", String(16), nullable=False),
    Column("status_message", String(255)),
    Column("creation_type", String(8), nullable=False),
    Column("creation_job_id", String(127)),
    *_times(),
    Index("ix_references_store", "reference_store_id", "seq"),
    Index("ix_references_store_created", "reference_store_id", "creation_time", "seq"),
)

reference_files = Table(
    "reference_files",
    metadata,
    Column("reference_id", String(36), ForeignKey("references.id"), primary_key=True),
    Column("file", String(8), primary_key=True),  # source, index
    Column("blob_key", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("content_length", BigInteger, nullable=False),
    Column("part_size", BigInteger, nullable=False),
    Column("md5", String(32)),  # of the stored bytes (0010): recorded at ingestion; `seqstore verify` checks it
)

# The durable work queue: API jobs (imports, exports, activations) and internal work
# (ingesting a direct upload). A claimed job holds a lease its worker renews.
jobs = Table(
    "jobs",
    metadata,
    _seq(),
    Column("id", String(36), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("store_id", String(36), nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_message", String(255)),
    Column("role_arn", String(2048)),
    Column("destination", Text),
    Column("params", JSON, nullable=False),
    Column("runnable", Boolean, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_expires", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("completion_time", UtcDateTime),
    *_idempotency(),
    *_times(),
    Index("ix_jobs_runnable", "runnable", "seq"),
    Index("ix_jobs_store_kind", "store_id", "kind", "seq"),
    # Lists filtered by creation time page on (creation_time, seq) (store.common.fetch_page).
    Index("ix_jobs_store_kind_created", "store_id", "kind", "creation_time", "seq"),
)

job_items = Table(
    "job_items",
    metadata,
    Column("job_id", String(36), ForeignKey("jobs.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("source", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", String(255)),
    Column("result_id", String(36)),
    # The worker working on the item (its job's owner or a worker helping it) and until when.
    Column("lease_owner", String(64)),
    Column("lease_expires", UtcDateTime),
)

tags = Table(
    "tags",
    metadata,
    Column("resource_arn", String(255), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

s3_access_policies = Table(
    "s3_access_policies",
    metadata,
    Column("s3_access_point_arn", String(1024), primary_key=True),
    Column("store_id", String(36), nullable=False),
    Column("store_type", String(16), nullable=False),
    Column("policy", Text, nullable=False),
    Column("update_time", UtcDateTime, nullable=False),
    UniqueConstraint("store_id", "store_type"),
)

# Signing keys. The secret is encrypted with the server's master key (kept outside the
# database), so a copy of the database alone cannot sign requests.
access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("name", String(255)),
    Column("secret_encrypted", Text, nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("creation_time", UtcDateTime, nullable=False),
    Column("revoked_time", UtcDateTime),
)

# The background scrub (seqstore/store/scrub.py, docs/operations.md "Background scrub"): one row,
# `name` "scrub", holding the lease of the worker scrubbing, the pass under way (its start and a
# cursor: the kind and `seq` of the last subject checked) and running totals for the metrics.
scrub_state = Table(
    "scrub_state",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("lease_owner", String(64)),
    Column("lease_expires", UtcDateTime),
    Column("pass_started", UtcDateTime),  # of the pass under way, else of the last one
    Column("pass_completed", UtcDateTime),  # of the last complete pass
    Column("cursor_kind", String(16)),  # "read set" or "reference"; NULL: no pass under way
    Column("cursor_seq", BigInteger),
    Column("passes", BigInteger, nullable=False, default=0),
    Column("subjects_total", BigInteger, nullable=False, default=0),
    Column("bytes_total", BigInteger, nullable=False, default=0),
)

# What the scrub found wrong with a stored file ("" for the whole read set or reference): open
# until a later check finds the file fine (or its subject is no longer stored), then resolved.
scrub_findings = Table(
    "scrub_findings",
    metadata,
    Column("subject_kind", String(16), primary_key=True),  # "read set" or "reference"
    Column("subject_id", String(36), primary_key=True),
    Column("file", String(16), primary_key=True),
    Column("store_id", String(36), nullable=False),
    Column("problem", Text, nullable=False),
    Column("found_at", UtcDateTime, nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),  # the last check that found it
    Column("resolved_at", UtcDateTime),
)

"""Settings: command-line options, each with an environment variable, and their defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PART_SIZE = 104_857_600  # the real service's part size for uploads and downloads (100 MiB)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _path_env(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("SEQSTORE_DATA_DIR", "./seqstore-data")))
    host: str = field(default_factory=lambda: _env("SEQSTORE_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("SEQSTORE_PORT", "9740")))
    database_url: str = field(default_factory=lambda: _env("SEQSTORE_DATABASE_URL", ""))
    region: str = field(default_factory=lambda: _env("SEQSTORE_REGION", "us-east-1"))
    account_id: str = field(default_factory=lambda: _env("SEQSTORE_ACCOUNT_ID", "123456789012"))
    # One signing key from the environment, for simple setups (others live in the database).
    access_key_id: str = field(default_factory=lambda: _env("SEQSTORE_ACCESS_KEY_ID", ""))
    secret_access_key: str = field(default_factory=lambda: _env("SEQSTORE_SECRET_ACCESS_KEY", ""))
    # "sigv4" verifies every request's signature; "none" (loopback only) does not.
    auth: str = field(default_factory=lambda: _env("SEQSTORE_AUTH", "sigv4"))
    # Emulate the real service's per-operation request rates (ThrottlingException beyond them),
    # with overrides "Operation=rate,..." (0 lifts a limit).
    emulate_quotas: bool = field(default_factory=lambda: _env("SEQSTORE_EMULATE_QUOTAS", "") in ("1", "true"))
    quota_overrides: str = field(default_factory=lambda: _env("SEQSTORE_QUOTAS", ""))
    # Reuse answers of pure reads until the next commit to the database (SQLite only; see
    # protocol/cache.py). "0" turns it off.
    response_cache: bool = field(default_factory=lambda: _env("SEQSTORE_RESPONSE_CACHE", "1") not in ("0", "false"))
    # Part uploads one access key may have in flight at once in an API process (0 = no bound).
    max_concurrent_parts: int = field(
        default_factory=lambda: int(_env("SEQSTORE_MAX_CONCURRENT_PARTS", "32"))
    )
    # Where blobs live: "" = DATA_DIR/blobs, or s3://bucket/prefix on SEQSTORE_S3_ENDPOINT_URL
    # (AWS S3 when unset) with credentials from the standard AWS chain.
    blob_url: str = field(default_factory=lambda: _env("SEQSTORE_BLOB_URL", ""))
    # The storage class archived read sets' objects move to on an S3 blob store ("" = unchanged);
    # one that is readable without a restore request.
    archive_storage_class: str = field(default_factory=lambda: _env("SEQSTORE_ARCHIVE_STORAGE_CLASS", ""))
    # The bucket name that `s3Uri` values use for files kept in the local blob directory.
    blob_bucket: str = field(default_factory=lambda: _env("SEQSTORE_BLOB_BUCKET", "seqstore"))
    # Job worker threads in a process (imports, exports, activations, ingestion); 0 = none.
    concurrency: int = field(
        default_factory=lambda: int(_env("SEQSTORE_CONCURRENCY", str(os.cpu_count() or 2)))
    )
    # API processes `seqstore serve` runs.
    api_processes: int = field(default_factory=lambda: int(_env("SEQSTORE_API_PROCESSES", "1")))
    part_size: int = PART_SIZE
    # The real service allows one reference store per account and region (quotas.md).
    max_reference_stores: int = field(default_factory=lambda: int(_env("SEQSTORE_MAX_REFERENCE_STORES", "1")))
    # Import sources and export destinations: a local directory of buckets unless an S3 endpoint is set.
    buckets_dir: Path | None = field(default_factory=lambda: _path_env("SEQSTORE_BUCKETS_DIR"))
    s3_endpoint_url: str = field(default_factory=lambda: _env("SEQSTORE_S3_ENDPOINT_URL", ""))
    # How long a worker's claim on a job lasts without renewal (renewed every third of it): after
    # a worker dies, its jobs wait this long before another worker resumes them.
    job_lease_seconds: float = field(default_factory=lambda: float(_env("SEQSTORE_JOB_LEASE_SECONDS", "60")))
    # Read sets not read for this long are archived (the real service: 30 days); 0 = never.
    archive_after_seconds: float = field(
        default_factory=lambda: float(_env("SEQSTORE_ARCHIVE_AFTER_SECONDS", str(30 * 24 * 3600)))
    )

    def resolved_database_url(self) -> str:
        """The database URL: SEQSTORE_DATABASE_URL, else an SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'seqstore.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def resolved_buckets_dir(self) -> Path:
        return self.buckets_dir or self.data_dir / "buckets"

    def to_environment(self) -> dict[str, str]:
        """These settings as the SEQSTORE_* variables that give them back (for child processes)."""
        env = {
            "SEQSTORE_DATA_DIR": str(self.data_dir.resolve()),
            "SEQSTORE_DATABASE_URL": self.resolved_database_url(),
            "SEQSTORE_REGION": self.region,
            "SEQSTORE_ACCOUNT_ID": self.account_id,
            "SEQSTORE_AUTH": self.auth,
            "SEQSTORE_EMULATE_QUOTAS": "true" if self.emulate_quotas else "",
            "SEQSTORE_QUOTAS": self.quota_overrides,
            "SEQSTORE_MAX_CONCURRENT_PARTS": str(self.max_concurrent_parts),
            "SEQSTORE_CONCURRENCY": str(self.concurrency),
            "SEQSTORE_ARCHIVE_AFTER_SECONDS": str(self.archive_after_seconds),
            "SEQSTORE_JOB_LEASE_SECONDS": str(self.job_lease_seconds),
            "SEQSTORE_MAX_REFERENCE_STORES": str(self.max_reference_stores),
            "SEQSTORE_BLOB_BUCKET": self.blob_bucket,
            "SEQSTORE_BLOB_URL": self.blob_url,
            "SEQSTORE_ARCHIVE_STORAGE_CLASS": self.archive_storage_class,
            "SEQSTORE_S3_ENDPOINT_URL": self.s3_endpoint_url,
            "SEQSTORE_ACCESS_KEY_ID": self.access_key_id,
            "SEQSTORE_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.buckets_dir is not None:
            env["SEQSTORE_BUCKETS_DIR"] = str(self.buckets_dir.resolve())
        return env

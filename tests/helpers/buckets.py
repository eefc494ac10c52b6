"""The server's local buckets directory: where it resolves `s3://bucket/key` import sources and
export destinations unless a test points it at an S3-compatible endpoint
(`s3://bucket/key` is `<data dir>/buckets/bucket/key`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers.names import unique
from tests.helpers.servers import Server


def buckets_dir(server: Server) -> Path:
    """Where the server resolves s3://bucket/key by default: <data dir>/buckets."""
    return server.data_dir / "buckets"


def new_bucket(server: Server, prefix: str = "bucket") -> str:
    """A fresh bucket (a directory in the server's buckets dir); returns its name."""
    name = unique(prefix)
    (buckets_dir(server) / name).mkdir(parents=True)
    return name


def _object_path(server: Server, bucket: str, key: str) -> Path:
    path = buckets_dir(server) / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def put_object(server: Server, bucket: str, key: str, data: bytes) -> str:
    """Write an object into a local bucket; returns its s3:// URI."""
    _object_path(server, bucket, key).write_bytes(data)
    return f"s3://{bucket}/{key}"


def copy_object(server: Server, bucket: str, key: str, source: Path) -> str:
    """Copy a local file into a local bucket; returns its s3:// URI."""
    shutil.copyfile(source, _object_path(server, bucket, key))
    return f"s3://{bucket}/{key}"


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []

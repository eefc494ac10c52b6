"""seqstore.testing's OmicsServer on the suite's database and blob store (tests.helpers.backends):
SQLite and a temporary data dir by default, a PostgreSQL schema and a moto S3 bucket of its own
with SEQSTORE_TEST_DATABASE=postgresql SEQSTORE_TEST_BLOBS=s3."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from seqstore.testing import OmicsServer
from tests.helpers.backends import (
    S3_CREDENTIALS,
    TEST_BLOBS,
    TEST_DATABASE,
    new_postgres_database_url,
    shared_moto,
)


class SuiteOmicsServer(OmicsServer):
    """An OmicsServer whose blob store, on S3, signs with moto's credentials (its boto3 client
    takes them from the environment when the server starts)."""

    def start(self) -> OmicsServer:
        if TEST_BLOBS != "s3":
            return super().start()
        saved = {name: os.environ.get(name) for name in S3_CREDENTIALS}
        os.environ.update(S3_CREDENTIALS)
        try:
            return super().start()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def omics_server(ingest: str = "async", **settings: Any) -> OmicsServer:
    """An OmicsServer (not started) on the suite's backends."""
    if TEST_DATABASE == "postgresql":
        settings.setdefault("database_url", new_postgres_database_url())
    if TEST_BLOBS == "s3":
        env = shared_moto().blob_env()
        settings.setdefault("blob_url", env["SEQSTORE_BLOB_URL"])
        settings.setdefault("s3_endpoint_url", env["SEQSTORE_S3_ENDPOINT_URL"])
        # Import sources stay in a local buckets dir (OmicsServer.buckets), as on local blobs.
        settings.setdefault("buckets_dir", Path(tempfile.mkdtemp(prefix="seqstore-kit-buckets-")))
    return SuiteOmicsServer(ingest, **settings)


def put_source(server: OmicsServer, bucket: str, key: str, data: bytes) -> str:
    """An object of the server's local stand-in for S3 (its buckets dir); its s3:// URI."""
    assert server.data_dir is not None
    root = server._extra.get("buckets_dir") or server.data_dir / "buckets"
    path = Path(root, bucket, *key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"s3://{bucket}/{key}"

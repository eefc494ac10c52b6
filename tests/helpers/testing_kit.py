"""seqstore.testing's OmicsServer on the suite's database and blob store (tests.helpers.backends):
SQLite and a temporary data dir by default, a PostgreSQL schema and a moto S3 bucket of its own
with SEQSTORE_TEST_DATABASE=postgresql SEQSTORE_TEST_BLOBS=s3."""

from __future__ import annotations

import os
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
    return SuiteOmicsServer(ingest, **settings)

"""The database and blob store the suite's servers run on: SQLite and DATA_DIR/blobs by default,
or (SEQSTORE_TEST_DATABASE=postgresql, SEQSTORE_TEST_BLOBS=s3) a schema of their own on the local
PostgreSQL and a bucket of their own on one moto S3 server."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import requests

from tests.helpers.names import unique
from tests.helpers.ports import free_port

if TYPE_CHECKING:
    from sqlalchemy import Connection

# SEQSTORE_TEST_DATABASE=postgresql runs every server of the suite on the local PostgreSQL,
# each in a schema of its own (dropped at the end of the session).
TEST_DATABASE = os.environ.get("SEQSTORE_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("SEQSTORE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_schemas: list[str] = []


def new_postgres_database_url() -> str:
    """A SQLAlchemy URL of a fresh, empty schema on the test PostgreSQL server."""
    import psycopg

    schema = f"seqstore_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    _schemas.append(schema)
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@atexit.register
def _drop_schemas() -> None:
    if not _schemas:
        return
    import psycopg

    with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        for schema in _schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# SEQSTORE_TEST_BLOBS=s3 keeps every server's bytes in a bucket of its own on one moto S3
# server (a real HTTP endpoint in its own process, started on first use) instead of DATA_DIR/blobs.
TEST_BLOBS = os.environ.get("SEQSTORE_TEST_BLOBS", "local")
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class MotoS3:
    """moto's S3 in server mode: a real S3-compatible HTTP endpoint in its own process."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}")
            try:
                requests.get(f"{self.url}/moto-api/", timeout=1)
                return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start in 30 s") from None
                time.sleep(0.1)

    def client(self):  # type: ignore[no-untyped-def]
        """A boto3 S3 client of this endpoint, as the user's own tooling would have."""
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        ).client("s3", endpoint_url=self.url)

    def new_bucket(self, prefix: str) -> str:
        """A new, empty bucket of this endpoint; its name."""
        bucket = unique(prefix)
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def blob_env(self) -> dict[str, str]:
        """The environment of a server whose blobs live in a new bucket of this endpoint."""
        bucket = self.new_bucket("seqstore-blobs")
        return {"SEQSTORE_BLOB_URL": f"s3://{bucket}/data", "SEQSTORE_S3_ENDPOINT_URL": self.url, **S3_CREDENTIALS}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


_moto: MotoS3 | None = None


def shared_moto() -> MotoS3:
    """The session's moto S3 server, started on first use."""
    global _moto
    if _moto is None:
        _moto = MotoS3(Path(tempfile.mkdtemp(prefix="seqstore-moto-")) / "moto.log")
        atexit.register(_moto.stop)
    return _moto


def migrate_to(connection: Connection, revision: str) -> None:
    """Bring the database of `connection` to an older migration `revision` (to build data as an
    earlier seqstore wrote it)."""
    from alembic import command
    from alembic.config import Config

    from seqstore.db.engine import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)

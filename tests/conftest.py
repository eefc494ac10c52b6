"""Fixtures: a real `seqstore serve` process on a free port, and boto3 clients configured the
way users configure them: only through environment variables."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / "tests" / "data" / "htslib"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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

    def blob_env(self) -> dict[str, str]:
        """The environment of a server whose blobs live in a new bucket of this endpoint."""
        bucket = f"seqstore-blobs-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
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
        import tempfile

        _moto = MotoS3(Path(tempfile.mkdtemp(prefix="seqstore-moto-")) / "moto.log")
        atexit.register(_moto.stop)
    return _moto


class Server:
    """A `seqstore serve` subprocess; `stop()` and `start()` keep the same data dir, port and
    database."""

    def __init__(
        self, data_dir: Path, extra_env: dict[str, str] | None = None, options: tuple[str, ...] = (),
        log_level: str = "warning",
    ) -> None:
        self.data_dir = data_dir
        self.options = list(options)  # more `seqstore serve` options
        self.log_level = log_level
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(extra_env or {})
        if TEST_DATABASE == "postgresql" and "SEQSTORE_DATABASE_URL" not in self.extra_env:
            self.extra_env["SEQSTORE_DATABASE_URL"] = new_postgres_database_url()
        if TEST_BLOBS == "s3" and "SEQSTORE_BLOB_URL" not in self.extra_env:
            # Import sources and export destinations stay in the local buckets directory unless
            # the test sends them to S3 (then to the same moto server).
            local_sources = "SEQSTORE_S3_ENDPOINT_URL" not in self.extra_env
            self.extra_env = {**shared_moto().blob_env(), **self.extra_env}
            if local_sources:
                self.extra_env.setdefault("SEQSTORE_BUCKETS_DIR", str(data_dir / "buckets"))
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    def start(self) -> None:
        # The signing key the test clients use (client_env); tests may override it.
        env = {**os.environ, "SEQSTORE_ACCESS_KEY_ID": "seqstore",
               "SEQSTORE_SECRET_ACCESS_KEY": "seqstore-secret", **self.extra_env}
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "seqstore.cli", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--log-level", self.log_level, *self.options],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/_seqstore/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy in 30 s")

    def stop(self, kill: bool = False) -> None:
        if self.process is not None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None
            self.log.close()

    def logs(self) -> str:
        return self.log_path.read_text()

    @property
    def blob_url(self) -> str:
        return self.extra_env.get("SEQSTORE_BLOB_URL", "")

    def blob_keys(self, prefix: str) -> list[str]:
        """The blob keys under `prefix/`, wherever this server keeps its blobs."""
        if not self.blob_url:
            root = self.data_dir / "blobs"
            return sorted(
                "/".join((Path(r) / n).relative_to(root).parts)
                for r, _, names in os.walk(root / prefix) for n in names
            )
        bucket, _, base = self.blob_url[5:].partition("/")
        s3 = shared_moto().client()  # the only S3 endpoint the suite's servers use
        start = f"{base}/{prefix}/" if base else f"{prefix}/"
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=start)
                for o in page.get("Contents", [])]
        return sorted(k[len(base) + 1:] if base else k for k in keys)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the session (tests create their own stores, so they do not collide)."""
    srv = Server(tmp_path_factory.mktemp("seqstore") / "data")
    srv.start()
    yield srv
    srv.stop()


def error_code(excinfo: pytest.ExceptionInfo[Any]) -> str:
    """The error code a botocore ClientError carries."""
    return str(excinfo.value.response["Error"]["Code"])


def client_env(url: str) -> dict[str, str]:
    """The environment a user sets to point boto3 and the AWS CLI at seqstore."""
    return {
        "AWS_ENDPOINT_URL_OMICS": url,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "seqstore",
        "AWS_SECRET_ACCESS_KEY": "seqstore-secret",
    }


def make_client(url: str, config: Config | None = None):  # type: ignore[no-untyped-def]
    """A boto3 omics client configured only through environment variables (and, if given, a
    botocore Config: no client-side validation, or no retries)."""
    saved = {k: os.environ.get(k) for k in client_env(url)}
    os.environ.update(client_env(url))
    try:
        return boto3.session.Session().client("omics", config=config)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def omics(server: Server):  # type: ignore[no-untyped-def]
    return make_client(server.url)


@pytest.fixture
def store_id(omics) -> str:  # type: ignore[no-untyped-def]
    """A fresh sequence store for one test."""
    return str(omics.create_sequence_store(name="test-store")["id"])


REFERENCE_SEQUENCES = {"chr1": 6000, "chr2": 3000}


def write_reference_fasta(path: Path) -> dict[str, str]:
    """Write a small deterministic FASTA (60 bases a line); return its sequences by name."""
    import random

    rng = random.Random(20261123)
    sequences = {name: "".join(rng.choice("ACGT") for _ in range(length)) for name, length in REFERENCE_SEQUENCES.items()}
    with open(path, "w") as out:
        for name, seq in sequences.items():
            out.write(f">{name}\n")
            for i in range(0, len(seq), 60):
                out.write(seq[i : i + 60] + "\n")
    return sequences


@pytest.fixture(scope="session")
def reference_store_id(omics) -> str:  # type: ignore[no-untyped-def]
    """The session server's reference store (the service allows one per account)."""
    return str(omics.create_reference_store(name="test-references")["id"])


@pytest.fixture(scope="session")
def reference(server: Server, omics, reference_store_id: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """An ACTIVE reference imported from a FASTA in the server's buckets dir:
    {"arn", "id", "store_id", "fasta" (local path of the same FASTA), "sequences"}."""
    bucket = server.data_dir / "buckets" / "references"
    bucket.mkdir(parents=True, exist_ok=True)
    fasta = bucket / "test-genome.fa"
    sequences = write_reference_fasta(fasta)
    job = omics.start_reference_import_job(
        referenceStoreId=reference_store_id, roleArn="arn:aws:iam::123456789012:role/seqstore-test",
        sources=[{"sourceFile": "s3://references/test-genome.fa", "name": "test-genome"}],
    )
    deadline = time.monotonic() + 60
    while True:
        got = omics.get_reference_import_job(referenceStoreId=reference_store_id, id=job["id"])
        if got["status"] not in ("SUBMITTED", "IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("reference import did not finish")
        time.sleep(0.1)
    assert got["status"] == "COMPLETED", got
    reference_id = got["sources"][0]["referenceId"]
    meta = omics.get_reference_metadata(referenceStoreId=reference_store_id, id=reference_id)
    return {"arn": meta["arn"], "id": reference_id, "store_id": reference_store_id, "fasta": fasta,
            "sequences": sequences}

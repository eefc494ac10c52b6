"""`seqstore serve` as a subprocess of the tests, on a free port and a data directory of its own
(on the suite's database and blob store, tests.helpers.backends)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from tests.helpers.backends import TEST_BLOBS, TEST_DATABASE, new_postgres_database_url, shared_moto
from tests.helpers.clients import KEY, SECRET, make_client
from tests.helpers.paths import ROOT
from tests.helpers.ports import free_port


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
        env = {**os.environ, "SEQSTORE_ACCESS_KEY_ID": KEY,
               "SEQSTORE_SECRET_ACCESS_KEY": SECRET, **self.extra_env}
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

    def backing_object(self, s3_uri: str) -> tuple[str, str]:
        """Where an advertised s3Uri's bytes live in this server's S3 blob bucket: the URI's
        bucket is the store's access point alias (docs/s3.md, "Names"), its key the blob key."""
        alias, key = s3_uri.removeprefix("s3://").split("/", 1)
        assert alias.endswith("-s3alias"), s3_uri
        bucket, _, base = self.blob_url[5:].partition("/")
        return bucket, f"{base}/{key}" if base else key

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


class OptionServer(Server):
    """A Server with extra `seqstore serve` options and a log level."""

    def __init__(self, data_dir: Path, *options: str, extra_env: dict[str, str] | None = None,
                 log_level: str = "warning") -> None:
        super().__init__(data_dir, extra_env, options, log_level)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """`server`, started for the block and stopped after it."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[Server, Any]]:
    """A separate `seqstore serve` (its own data dir, so its own account's quotas) and a client."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with running(Server(data_dir, extra_env)) as server:
        yield server, make_client(server.url)


def healthy(server: Server) -> bool:
    return requests.get(f"{server.url}/_seqstore/health", timeout=5).status_code == 200

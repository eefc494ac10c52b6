"""What every bench script needs: a free port, a timed shell pipeline, waiting for a server, a
server with a reference imported, the sendfile floors.
(Scripts run as `python bench/NAME.py`, so this directory is on sys.path.)"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(command: str) -> float:
    """Seconds a bash pipeline takes (pipefail: any failing stage fails it)."""
    started = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def wait_healthy(
    url: str, path: str = "/_seqstore/health", process: subprocess.Popen[bytes] | None = None, seconds: float = 30
) -> None:
    """Poll `url + path` until it answers 200 (and stop early if `process` exits)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no answer from {url}{path} in {seconds:.0f} s")


class SendfileServer:
    """The network floor of a download: a bare HTTP/1.1 server on loopback that answers every
    request with the first `length` bytes of `path` through the kernel's sendfile (no copy into
    the process at all). What a client receives from it is as fast as any server on this
    machine can send bytes over a TCP connection. Use as a context manager; `url` is its address."""

    def __init__(self, path: str, length: int) -> None:
        self.path, self.length = path, length
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.length}\r\nConnection: close\r\n\r\n"
                connection.sendall(head.encode())
                with open(self.path, "rb") as source:
                    connection.sendfile(source, 0, self.length)

    def __enter__(self) -> SendfileServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.listener.close()


DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def with_schema(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections work in `schema`."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def libpq(url: str) -> str:
    """The SQLAlchemy URL as psycopg.connect takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class RangedSendfileServer(SendfileServer):
    """The floor of ranged reads: like SendfileServer, but each request on a keep-alive
    connection gets the bytes its `Range: bytes=a-b` names (206), sent by sendfile."""

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection, open(self.path, "rb") as source:
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    pending += chunk
                head, _, pending = pending.partition(b"\r\n\r\n")
                start, end = 0, self.length - 1
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"range":
                        first, _, last = value.strip()[len(b"bytes="):].partition(b"-")
                        start, end = int(first), min(int(last), self.length - 1)
                size = end - start + 1
                connection.sendall(
                    f"HTTP/1.1 206 Partial Content\r\nContent-Length: {size}\r\n"
                    f"Content-Range: bytes {start}-{end}/{self.length}\r\n\r\n".encode()
                )
                connection.sendfile(source, start, size)


@dataclass
class Running:
    """A `seqstore serve` process with a sequence store and an imported reference."""

    url: str
    data_dir: Path
    pid: int
    omics: Any
    store_id: str
    reference_arn: str


@contextlib.contextmanager
def serve_with_genome(
    fasta: Path, key: str = "bench", secret: str = "bench-secret", env: dict[str, str] | None = None
) -> Iterator[Running]:
    """Start `seqstore serve` on a new data dir with these credentials (and point boto3 at it
    through the environment; `env`: more variables for the server), create a sequence store and
    import `fasta` as a reference; the data dir is removed on exit."""
    import boto3

    data_dir = Path(tempfile.mkdtemp(prefix="seqstore-bench-"))
    (data_dir / "buckets" / "bench").mkdir(parents=True)
    shutil.copyfile(fasta, data_dir / "buckets" / "bench" / "genome.fa")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ.update({
        "AWS_ENDPOINT_URL_OMICS": url, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
        "SEQSTORE_ACCESS_KEY_ID": key, "SEQSTORE_SECRET_ACCESS_KEY": secret,
    })  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "seqstore.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--log-level", "warning"], stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})},
    )  # fmt: skip
    try:
        wait_healthy(url, process=server)
        omics = boto3.session.Session().client("omics")
        store_id = omics.create_sequence_store(name="bench")["id"]
        reference_store = omics.create_reference_store(name="bench")["id"]
        job = omics.start_reference_import_job(
            referenceStoreId=reference_store, roleArn="arn:aws:iam::123456789012:role/bench",
            sources=[{"sourceFile": "s3://bench/genome.fa", "name": "genome"}],
        )  # fmt: skip
        while (got := omics.get_reference_import_job(referenceStoreId=reference_store, id=job["id"]))["status"] in (
            "SUBMITTED", "IN_PROGRESS"
        ):  # fmt: skip
            time.sleep(0.1)
        reference_arn = omics.get_reference_metadata(
            referenceStoreId=reference_store, id=got["sources"][0]["referenceId"]
        )["arn"]
        yield Running(url, data_dir, server.pid, omics, store_id, reference_arn)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)

"""A server's stored bytes as an operator (or a failing disk) sees them: read, change and remove
blobs wherever the server keeps them (DATA_DIR/blobs or its S3 bucket), and run the `seqstore`
commands that work on its data (verify, backup, restore) with its settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.backends import shared_moto
from tests.helpers.commands import seqstore_cli
from tests.helpers.servers import Server


def _s3(server: Server, key: str) -> tuple[str, str]:
    bucket, _, base = server.blob_url[5:].partition("/")
    return bucket, f"{base}/{key}" if base else key


def read_blob(server: Server, key: str) -> bytes:
    if not server.blob_url:
        return (server.data_dir / "blobs" / key).read_bytes()
    bucket, name = _s3(server, key)
    return bytes(shared_moto().client().get_object(Bucket=bucket, Key=name)["Body"].read())


def write_blob(server: Server, key: str, data: bytes) -> None:
    """Replace a blob's bytes behind the server's back, at once (a reader sees the old or the new)."""
    if not server.blob_url:
        path = server.data_dir / "blobs" / key
        written = path.with_name(f"{path.name}.replacing")
        written.write_bytes(data)
        written.replace(path)
        return
    bucket, name = _s3(server, key)
    shared_moto().client().put_object(Bucket=bucket, Key=name, Body=data)


def remove_blob(server: Server, key: str) -> None:
    if not server.blob_url:
        (server.data_dir / "blobs" / key).unlink()
        return
    bucket, name = _s3(server, key)
    shared_moto().client().delete_object(Bucket=bucket, Key=name)


def data_command(server: Server, command: str, *args: str, data_dir: Path | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`seqstore COMMAND --data-dir DIR ARGS` with the server's database and blob settings."""
    env = {k: v for k, v in server.extra_env.items() if k.startswith(("SEQSTORE_", "AWS_"))}
    return seqstore_cli(command, "--data-dir", str(data_dir or server.data_dir), *args, env=env, timeout=timeout)

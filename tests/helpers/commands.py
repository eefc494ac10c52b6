"""The command lines a user runs: the AWS CLI (configured only through the documented environment
variables) and `seqstore` itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers.clients import KEY, SECRET, client_env
from tests.helpers.paths import ROOT
from tests.helpers.servers import Server

AWS = Path(sys.executable).with_name("aws")


# --- the AWS CLI


def aws_env(url: str, home: Path, **variables: str) -> dict[str, str]:
    """The environment of an `aws` command pointed at `url`: the user's own AWS configuration plays
    no part (a fresh `home`), only the documented variables and `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(client_env(url))
    env.update({
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "HOME": str(home),
    })
    env.update(variables)
    return env


def aws(env: dict[str, str], *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """`aws omics ARGS --output json` with `env`; with `check` it must succeed."""
    result = subprocess.run([str(AWS), "omics", *args, "--output", "json"], env=env,
                            capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def aws_json(env: dict[str, str], *args: str) -> Any:
    """What a successful `aws omics ARGS` prints, parsed."""
    return json.loads(aws(env, *args, check=True).stdout)


def aws_cli(url: str, home: Path, key: str, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`aws omics ARGS` with these credentials and no retries."""
    env = aws_env(url, home, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_MAX_ATTEMPTS="1")
    return aws(env, *args)


# --- the seqstore command


def seqstore_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`seqstore ARGS` as a subprocess (the server's own env key is not set for it)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SEQSTORE_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "seqstore.cli", *args], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def keys_command(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """`seqstore keys ARGS` on `server`'s data dir and database (PostgreSQL in the suite's
    PostgreSQL run)."""
    database = server.extra_env.get("SEQSTORE_DATABASE_URL")
    return seqstore_cli("keys", "--data-dir", str(server.data_dir),
                        *(("--database-url", database) if database else ()), *args)


def keys(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """`keys_command`, which must succeed."""
    result = keys_command(server, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def bearer_token(server: Server) -> str:
    """`seqstore keys token` for the server's environment key (SEQSTORE_ACCESS_KEY_ID): the
    token on the command's last line."""
    database = server.extra_env.get("SEQSTORE_DATABASE_URL")
    result = seqstore_cli(
        "keys", "token", "--data-dir", str(server.data_dir), *(("--database-url", database) if database else ()),
        env={"SEQSTORE_ACCESS_KEY_ID": KEY, "SEQSTORE_SECRET_ACCESS_KEY": SECRET},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def banner_values(process: subprocess.Popen[str], timeout: float = 60) -> dict[str, str]:
    """The NAME=value pairs `seqstore serve` printed, read up to its secret's line."""
    assert process.stdout is not None
    banner, deadline = "", time.monotonic() + timeout
    while "AWS_SECRET_ACCESS_KEY" not in banner:
        line = process.stdout.readline()
        assert line and time.monotonic() < deadline, f"no banner: {banner}"
        banner += line
    return dict(re.findall(r"(\w+)=(\S+)", banner))


def first_store(client, name: str, attempts: int = 100) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """CreateSequenceStore, retried while the server that printed its banner is not listening yet."""
    for _ in range(attempts):
        try:
            return dict(client.create_sequence_store(name=name))
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.1)
    raise AssertionError("the server never answered")

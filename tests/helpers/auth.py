"""Helpers of the authentication tests: requests signed by botocore's own SigV4 signer (with any
key, region or clock) and sent byte for byte as signed, boto3 clients with other credentials,
the `seqstore` command line, and servers started with options the conftest Server does not pass."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.conftest import ROOT, Server, client_env

KEY = "seqstore"  # the key conftest.Server configures (SEQSTORE_ACCESS_KEY_ID)
SECRET = "seqstore-secret"
REGION = "us-east-1"
AWS = Path(sys.executable).with_name("aws")
EXPORT_RE = re.compile(r"\b(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=(\S+)")


# --- signing and sending requests exactly as signed


def sign(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    key: str = KEY,
    secret: str = SECRET,
    region: str = REGION,
    service: str = "omics",
    when: datetime | None = None,
) -> dict[str, str]:
    """The headers of a request signed by botocore's SigV4Auth (with the clock at `when`, naive
    UTC, if given). `url` is signed exactly as written: send it with `raw_request`."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = SigV4Auth(Credentials(key, secret), service, region)
    if when is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(request)
    signed = dict(request.headers.items())
    signed.setdefault("Host", urlsplit(url).netloc)
    return signed


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes, elapsed: float) -> None:
        self.status = status
        self.headers = headers  # names lower-cased
        self.body = body
        self.elapsed = elapsed

    @property
    def error_type(self) -> str | None:
        return self.headers.get("x-amzn-errortype")

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.error_type} {self.body[:300]!r}>"


def raw_request(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes | Iterable[bytes] = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    """One request over http.client with `path` (and query) sent as is, no normalization."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.monotonic()
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        names = {name.lower() for name in (headers or {})}
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if isinstance(body, bytes):
            if "content-length" not in names:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
        else:
            connection.endheaders()
            for chunk in body:
                connection.send(chunk)
        answer = connection.getresponse()
        data = answer.read()
        return Response(
            answer.status, {k.lower(): v for k, v in answer.getheaders()}, data, time.monotonic() - started
        )
    finally:
        connection.close()


def signed_request(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    **signing: Any,
) -> Response:
    """`raw_request` of a request signed for exactly `path` and `body`."""
    signed = sign(method, base_url + path, body=body, headers=headers, **signing)
    return raw_request(base_url, method, path, body=body, headers=signed)


# --- boto3 and the AWS CLI with chosen credentials


def client_for(
    url: str, key: str = KEY, secret: str = SECRET, *, region: str = REGION, config: Config | None = None
):  # type: ignore[no-untyped-def]
    """A boto3 omics client configured through the environment as users do, with these credentials."""
    env = {**client_env(url), "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": region}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return boto3.session.Session().client(
            "omics", config=config or Config(retries={"max_attempts": 1, "mode": "standard"})
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def aws_cli(url: str, home: Path, key: str, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`aws omics ARGS` with only the documented variables (no user configuration)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(client_env(url))
    env.update({
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        "HOME": str(home),
    })
    return subprocess.run([str(AWS), "omics", *args, "--output", "json"], env=env, capture_output=True,
                          text=True, timeout=60)


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


def database_url(server: Server) -> str:
    return server.extra_env.get("SEQSTORE_DATABASE_URL") or f"sqlite:///{server.data_dir / 'seqstore.db'}"


def stored_key_rows(server: Server) -> list[dict[str, Any]]:
    """The rows of the access_keys table, straight from the server's database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url(server))
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text("SELECT * FROM access_keys"))]
    finally:
        engine.dispose()


def parse_exports(text: str) -> tuple[str, str]:
    """The (access key id, secret) of the `export AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=…`
    lines in `text` (the last ones if there are several)."""
    found = dict(EXPORT_RE.findall(text))
    assert "AWS_ACCESS_KEY_ID" in found and "AWS_SECRET_ACCESS_KEY" in found, text
    return found["AWS_ACCESS_KEY_ID"], found["AWS_SECRET_ACCESS_KEY"]


class OptionServer(Server):
    """conftest's Server with extra `seqstore serve` options and a log level."""

    def __init__(self, data_dir: Path, *options: str, extra_env: dict[str, str] | None = None,
                 log_level: str = "warning") -> None:
        super().__init__(data_dir, extra_env, options, log_level)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()

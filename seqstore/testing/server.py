"""`OmicsServer`: a real seqstore for a test suite, in a thread of the test process, on a free
loopback port, a temporary data directory and fixed test credentials (docs/testing.md).

It is driven like any client would drive it: over HTTP, the storage API with boto3 and the
testing control routes (seqstore/api/testing.py) with the server's own token."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config import SETTINGS, Settings

TEST_ACCESS_KEY_ID = "AKIDSEQSTORETESTING1"
TEST_SECRET_ACCESS_KEY = "seqstore-testing-secret-access-key"
CONTROL = "/_seqstore/testing"
TOKEN_HEADER = "x-seqstore-testing-token"
START_TIMEOUT = 30.0
# Variables that would make a client sign with other credentials than the server's test key.
CONFLICTING = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE")


class OmicsServerError(RuntimeError):
    """The server did not start, or a control call failed; str() says why."""


class OmicsServer:
    """A seqstore serving the HealthOmics storage API for tests. Use it as a context manager,
    or call start() and stop(). `ingest="sync"` makes the calls that queue a job (upload
    completion, Start*Job) answer once it has ended; `settings` are more `Settings` fields
    (e.g. `emulate_quotas=True`, `database_url=...`). SEQSTORE_* variables are not read."""

    def __init__(
        self,
        ingest: str = "async",
        *,
        region: str = "us-east-1",
        data_dir: str | Path | None = None,
        job_threads: int = 2,
        **settings: Any,
    ) -> None:
        if ingest not in ("async", "sync"):
            raise ValueError(f"ingest must be 'async' or 'sync' (got {ingest!r})")
        self.ingest = ingest
        self.region = region
        self.access_key_id = TEST_ACCESS_KEY_ID
        self.secret_access_key = TEST_SECRET_ACCESS_KEY
        self._given_data_dir = Path(data_dir) if data_dir is not None else None
        self._job_threads = job_threads
        self._extra = settings
        self._token = secrets.token_urlsafe(24)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self.data_dir: Path | None = None
        self.port: int | None = None

    # --- lifetime ------------------------------------------------------------------------------

    def start(self) -> OmicsServer:
        """Build the service and serve it; return once it answers."""
        if self._server is not None:
            raise OmicsServerError("the server is running already")
        import uvicorn

        from ..server import application, build_domain

        self.data_dir = self._given_data_dir or Path(tempfile.mkdtemp(prefix="seqstore-testing-"))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))  # a free port, held from here on: no race for it
        self.port = listener.getsockname()[1]
        try:
            domain = build_domain(self._settings())
            app = application(domain, job_threads=self._job_threads)
            config = uvicorn.Config(
                app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=30
            )
            self._server = server = uvicorn.Server(config)
            self._thread = threading.Thread(
                target=self._serve, args=(server, listener), name=f"seqstore-testing-{self.port}", daemon=True
            )
            self._thread.start()
            deadline = time.monotonic() + START_TIMEOUT
            while not server.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    reason = repr(self._failure) if self._failure else "it did not start in time"
                    raise OmicsServerError(f"seqstore did not start: {reason}")
                time.sleep(0.002)
        except BaseException:
            listener.close()
            self.stop()
            raise
        return self

    def _serve(self, server: Any, listener: socket.socket) -> None:
        try:
            server.run(sockets=[listener])
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._failure = exc

    def stop(self) -> None:
        """Stop serving (jobs are stopped with it) and remove the temporary data directory."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(30)
        if self.data_dir is not None and self._given_data_dir is None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir = None

    def __enter__(self) -> OmicsServer:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def _settings(self) -> Settings:
        assert self.data_dir is not None
        values = {row.name: row.value(None) for row in SETTINGS}  # the defaults, not the environment
        values.update(
            data_dir=self.data_dir, host="127.0.0.1", port=self.port, api_processes=1,
            concurrency=self._job_threads, auth="sigv4", region=self.region,
            access_key_id=self.access_key_id, secret_access_key=self.secret_access_key,
            testing=True, testing_token=self._token, ingest=self.ingest,
        )
        values.update(self._extra)
        return Settings(**values)

    # --- clients -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.port is None or self._server is None:
            raise OmicsServerError("the server is not running: start() it or enter it with `with`")
        return f"http://127.0.0.1:{self.port}"

    def endpoints(self) -> dict[str, str]:
        """The endpoint of each service this server answers: the omics API and the S3 plane share
        the port."""
        return {"omics": self.url, "s3": self.url}

    @property
    def env(self) -> dict[str, str]:
        """The variables a client (boto3, the AWS CLI, another SDK) needs to call this server."""
        variables = {f"AWS_ENDPOINT_URL_{name.upper()}": url for name, url in self.endpoints().items()}
        variables.update(
            AWS_DISABLE_HOST_PREFIX_INJECTION="true",
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
            AWS_ACCESS_KEY_ID=self.access_key_id,
            AWS_SECRET_ACCESS_KEY=self.secret_access_key,
        )
        return variables

    def client(self, service_name: str = "omics", **kwargs: Any) -> Any:
        """A boto3 client of this server, configured by arguments alone (os.environ untouched);
        `kwargs` go to boto3 (a `config` is merged over the host-prefix switch)."""
        import boto3
        from botocore.config import Config

        endpoints = self.endpoints()
        if service_name not in endpoints:
            raise ValueError(f"this server answers {', '.join(endpoints)}, not {service_name!r}")
        config = Config(inject_host_prefix=False)
        if service_name == "s3":  # the S3 plane takes SigV4 (boto3 presigns with SigV2 by default)
            config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
        if kwargs.get("config") is not None:
            config = config.merge(kwargs.pop("config"))
        kwargs.pop("config", None)
        options = {
            "endpoint_url": endpoints[service_name], "region_name": self.region,
            "aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": None, **kwargs,
        }
        session: Any = boto3.session.Session()
        return session.client(service_name, config=config, **options)

    @contextlib.contextmanager
    def apply_env(self) -> Iterator[dict[str, str]]:
        """Set `env` in os.environ for the block (and unset the variables that would sign with
        other credentials), then put everything back as it was."""
        variables = self.env
        saved = {name: os.environ.get(name) for name in (*variables, *CONFLICTING)}
        try:
            for name in CONFLICTING:
                os.environ.pop(name, None)
            os.environ.update(variables)
            yield variables
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    # --- testing control -----------------------------------------------------------------------

    def reset(self) -> None:
        """Everything gone: stores, read sets, references, jobs, uploads, tags, blobs; faults and
        recorded calls cleared; quotas refilled."""
        self._control("POST", "reset")

    def inject(
        self, operation: str, error: str | None = "InternalServerException", *, times: int = 1,
        delay: float = 0.0, message: str = "",
    ) -> None:
        """Make the next `times` calls of `operation` fail with `error` (an exception the omics
        model lists for it), or, with `error=None`, answer `delay` seconds late."""
        body = {"operation": operation, "error": error, "times": times, "delay": delay, "message": message}
        self._control("POST", "faults", body)

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The parameters of the calls of `operation` the server received (of every operation,
        each with its "operation", when None), oldest first."""
        query = f"?{urllib.parse.urlencode({'operation': operation})}" if operation else ""
        return list(self._control("GET", f"calls{query}")["calls"])

    def _control(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(
            f"{self.url}{CONTROL}/{route}", data=data if method == "POST" else None, method=method,
            headers={TOKEN_HEADER: self._token, "content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read() or b"{}")
            raise ValueError(answer.get("message") or f"{route}: HTTP {exc.code}") from None

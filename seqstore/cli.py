"""The `seqstore` command."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import logging
import os
import secrets
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from . import cli_commands, logs
from .config import ALL, JOBS, SETTINGS, Setting, SettingError, Settings


def is_loopback(host: str) -> bool:
    """True when binding `host` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it could resolve to anything
        return False


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.ephemeral:
        return _serve_settings(args, settings)
    # A new data dir, removed on exit; on loopback without a key of its own, no signatures.
    data_dir = Path(tempfile.mkdtemp(prefix="seqstore-ephemeral-"))
    auth = settings.auth
    if is_loopback(settings.host) and not settings.access_key_id:
        auth = "none"
    try:
        return _serve_settings(args, dataclasses.replace(settings, data_dir=data_dir, auth=auth))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _serve_settings(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from .server import application, build_domain

    testing = ""
    if settings.testing:
        if not is_loopback(settings.host):
            _say(settings, "refusing --testing off loopback: its routes erase everything", error=True)
            return 2
        if not settings.testing_token:
            settings = dataclasses.replace(settings, testing_token=secrets.token_urlsafe(24))
        testing = (
            "  (testing mode: control routes under /_seqstore/testing/, docs/testing.md)\n"
            f"  export SEQSTORE_TESTING_TOKEN={settings.testing_token}\n"
        )
    if settings.auth == "none" and not is_loopback(settings.host):
        _say(
            settings,
            f"refusing --auth none on {settings.host}: without signatures anyone who can reach the port "
            "could read and delete data; bind to 127.0.0.1 or keep --auth sigv4",
            error=True,
        )
        return 2
    store = build_domain(settings)
    store.keys.check_master_key()  # API processes verify signatures with the stored secrets
    credentials = ""
    if settings.auth == "none":
        credentials = (
            "  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n"
            "  (signatures are not checked: --auth none; any credentials work)\n"
        )
    elif store.keys.env_key is not None:
        # The operator chose this secret; echoing it would copy it into every log of the server.
        credentials = (
            f"  export AWS_ACCESS_KEY_ID={store.keys.env_key.access_key_id} "
            "AWS_SECRET_ACCESS_KEY=$SEQSTORE_SECRET_ACCESS_KEY\n"
        )
    elif store.keys.count_active() == 0:
        key = store.keys.create(name="first key")
        credentials = (
            f"  export AWS_ACCESS_KEY_ID={key.access_key_id} AWS_SECRET_ACCESS_KEY={key.secret_access_key}\n"
            "  (a new key, shown once; more with `seqstore keys create`)\n"
        )
    else:
        credentials = (
            f"  export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   "
            f"({store.keys.count_active()} keys: `seqstore keys list`, `seqstore keys create`)\n"
        )
    if (settings.tls_cert is None) != (settings.tls_key is None):
        _say(settings, "seqstore: --tls-cert and --tls-key go together (a certificate and its key)", error=True)
        return 2
    for path in (settings.tls_cert, settings.tls_key):
        if path is not None and not path.is_file():
            _say(settings, f"seqstore: no such file: {path}", error=True)
            return 2
    scheme = "https" if settings.tls_cert else "http"
    url = f"{scheme}://{settings.host}:{settings.port}"
    _say(
        settings,
        f"seqstore is serving the HealthOmics storage API at {url}\n"
        f"  data:     {settings.data_dir.resolve()}{' (ephemeral: removed on exit)' if settings.ephemeral else ''}\n"
        f"  database: {_redact(settings.resolved_database_url())}\n"
        f"  blobs:    {settings.blob_url or settings.blob_dir.resolve()}\n"
        f"  region:   {settings.region}   account: {settings.account_id}   auth: {settings.auth}\n"
        "\nPoint boto3, the AWS CLI or aws-healthomics-tools at it with:\n"
        f"  export AWS_ENDPOINT_URL_OMICS={url}\n"
        f"  export AWS_ENDPOINT_URL_S3={url}   # every s3Uri, read-only (docs/s3.md)\n"
        "  export AWS_DISABLE_HOST_PREFIX_INJECTION=true\n"
        f"  export AWS_DEFAULT_REGION={settings.region}\n" + credentials + testing,
        url=url,
    )
    options: dict = {
        "host": settings.host,
        "port": settings.port,
        "log_level": args.log_level,
        "access_log": False,
        # uvicorn's loggers in the process's format (and its API processes' whole logging).
        "log_config": logs.configuration(settings.log_format, args.log_level, settings.audit_log),
        "timeout_keep_alive": 30,
        # On SIGINT/SIGTERM, requests in flight get this long to finish; a client that keeps an
        # idle connection open (TLS keep-alive) cannot hold the shutdown forever.
        "timeout_graceful_shutdown": 10,
    }
    if settings.tls_cert is not None:
        options.update(ssl_certfile=str(settings.tls_cert), ssl_keyfile=str(settings.tls_key))
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told not to: without
    # --forwarded-allow-ips the client's address is the socket's (aws:SourceIp conditions read it).
    options["proxy_headers"] = bool(settings.forwarded_allow_ips)
    if settings.forwarded_allow_ips:
        options.update(forwarded_allow_ips=settings.forwarded_allow_ips)
    if settings.api_processes > 1:
        # Each API process builds the same app from the environment (schema already migrated).
        os.environ.update(settings.to_environment())
        uvicorn.run(
            "seqstore.server:app_from_environment", factory=True, workers=settings.api_processes, **options
        )
    else:
        uvicorn.run(application(store, job_threads=settings.concurrency), **options)
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the command line, else from the environment."""
    given = {}
    for row in SETTINGS:
        if row.flag and hasattr(args, row.name):
            if args.command not in row.commands:  # given before a command that does not take it
                raise SettingError(f"{row.flag} is not an option of `seqstore {args.command}`")
            given[row.name] = row.value(getattr(args, row.name), row.flag)
    if getattr(args, "no_worker", False):
        given["concurrency"] = 0
    return Settings(**given)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from . import native
    from .server import build_domain, recover
    from .server import worker as build_worker

    store = build_domain(settings)
    native.log_status()
    recover(store)
    worker = build_worker(store, settings.concurrency)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.start()
    _say(
        settings,
        f"seqstore worker running {settings.concurrency} job threads on {_redact(settings.resolved_database_url())}"
        f" and {settings.blob_url or settings.blob_dir.resolve()}",
    )
    stop.wait()
    worker.stop()
    return 0


def _say(settings: Settings, text: str, *, error: bool = False, **fields: str) -> None:
    """Tell the operator `text`: printed (to stderr if an error), or in the JSON log format one
    record of logger `seqstore` with `fields`, shown whatever the log level (a new key's
    secret is shown once)."""
    if settings.log_format != "json":
        print(text, file=sys.stderr if error else sys.stdout, flush=True)
        return
    logger = logging.getLogger("seqstore")
    level = logging.ERROR if error else logging.INFO
    logger.handle(logger.makeRecord(logger.name, level, __file__, 0, text.rstrip("\n"), (), None, extra=fields))


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def version() -> str:
    """The installed distribution's version (a checkout not installed: the source's)."""
    try:
        return metadata.version("seqstore")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The `seqstore` command. The options of the settings table are generated from it: each is
    taken after the commands the table names and, for them, before the command too."""
    parser = argparse.ArgumentParser(
        prog="seqstore", description="A self-hosted sequence store speaking the AWS HealthOmics storage API.",
        epilog="Options before the command apply to it (the commands taking each are in brackets).",
    )
    parser.add_argument("--version", action="version", version=f"seqstore {version()}")
    _setting_options(parser, None)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the API server (and its job worker)")
    _setting_options(serve, "serve")
    serve.add_argument(
        "--no-worker", action="store_true", help="serve the API only; run jobs with `seqstore worker`"
    )
    _log_level(serve)
    serve.set_defaults(run=_serve)
    keys = commands.add_parser("keys", help="manage the access keys clients sign requests with")
    _setting_options(keys, "keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_commands.add_parser("create", help="create a key and print its export lines")
    create.add_argument(
        "--read-only", action="store_true", help="the key may call Get*/List* operations only"
    )
    create.add_argument("--name", help="a note saying whose key it is")
    listing = keys_commands.add_parser("list", help="list keys (never their secrets)")
    revoke = keys_commands.add_parser("revoke", help="revoke a key")
    revoke.add_argument("access_key_id")
    token = keys_commands.add_parser("token", help="print a bearer token for htsget clients")
    token.add_argument("--access-key-id", help="the key the token stands for (default: the only active key)")
    token.add_argument("--read-only", action="store_true", help="the token may only read")
    token.add_argument(
        "--expires-in", type=int, default=3600, metavar="SECONDS", help="lifetime in seconds (default 3600)"
    )
    for subcommand in (create, listing, revoke, token):
        _setting_options(subcommand, "keys")
    keys.set_defaults(run=cli_commands.keys, log_level="warning")
    worker = commands.add_parser(
        "worker", help="run job workers only (imports, exports, activations, ingestion)"
    )
    _setting_options(worker, "worker")
    _log_level(worker)
    worker.set_defaults(run=_worker)
    verify = commands.add_parser(
        "verify", help="re-read every stored file and check it against the database (exit 1 on a problem)"
    )
    _setting_options(verify, "verify")
    verify.add_argument("--sequence-store-id", help="only the read sets of this sequence store")
    verify.add_argument("--reference-store-id", help="only the references of this reference store")
    verify.add_argument("--read-set-id", help="only this read set")
    verify.add_argument("--rate", type=float, metavar="MB/s", help="read at most this many MB a second")
    verify.add_argument(
        "--deep", action="store_true", help="also recompute the ETags and counts (references: the MD5)"
    )
    verify.set_defaults(run=cli_commands.verify, log_level="warning")
    backup = commands.add_parser("backup", help="a consistent copy of the data dir, taken while the server runs")
    backup.add_argument("destination", type=Path, help="a new or empty directory")
    restore = commands.add_parser("restore", help="a backup into a new or empty data dir")
    restore.add_argument("source", type=Path, help="a directory `seqstore backup` wrote")
    for command in (backup, restore):
        _setting_options(command, command.prog.split()[-1])
        command.set_defaults(run=cli_commands.backup, log_level="warning")
    return parser


def _setting_options(parser: argparse.ArgumentParser, command: str | None) -> None:
    """The table's options `command` takes (all of them before a command: None). An option not
    given leaves no attribute; `_settings` parses the text of those given."""
    for row in SETTINGS:
        if row.flag and (command is None or command in row.commands):
            taken = f" [{', '.join(row.commands)}]" if command is None and row.commands != ALL else ""
            help = f"{row.help} (env {row.env}; default {row.shown_default()}){taken}".replace("%", "%%")
            if row.kind == "bool":
                parser.add_argument(
                    row.flag, dest=row.name, action="store_const", const="true", default=argparse.SUPPRESS, help=help
                )
            else:
                parser.add_argument(
                    row.flag, dest=row.name, default=argparse.SUPPRESS, help=help, metavar=_metavar(row)
                )


def _metavar(row: Setting) -> str:
    if row.choices:
        return "{" + ",".join(row.choices) + "}"
    return (row.flag or "").removeprefix("--").upper().replace("-", "_")


def _log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except SettingError as exc:  # a bad value: say which and what it should be, no traceback
        print(f"seqstore: {exc}", file=sys.stderr)
        return 2
    if args.command not in JOBS:  # the others answer no requests: their log is text, no audit log
        settings = dataclasses.replace(settings, log_format="text", audit_log=None)
    logs.configure(settings.log_format, getattr(args, "log_level", "info"), settings.audit_log)
    from .blobs import BlobStoreUnavailable
    from .store.access_keys import MasterKeyMismatch

    try:
        return int(args.run(args, settings))
    except (BlobStoreUnavailable, MasterKeyMismatch) as exc:  # a misconfiguration: say what, no traceback
        _say(settings, f"seqstore: {exc}", error=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())

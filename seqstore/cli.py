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
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import ALL, SETTINGS, Setting, SettingError, Settings


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
            print("refusing --testing off loopback: its routes erase everything", file=sys.stderr)
            return 2
        if not settings.testing_token:
            settings = dataclasses.replace(settings, testing_token=secrets.token_urlsafe(24))
        testing = (
            "  (testing mode: control routes under /_seqstore/testing/, docs/testing.md)\n"
            f"  export SEQSTORE_TESTING_TOKEN={settings.testing_token}\n"
        )
    if settings.auth == "none" and not is_loopback(settings.host):
        print(
            f"refusing --auth none on {settings.host}: without signatures anyone who can reach the port "
            "could read and delete data; bind to 127.0.0.1 or keep --auth sigv4",
            file=sys.stderr,
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
    url = f"http://{settings.host}:{settings.port}"
    print(
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
        flush=True,
    )
    options: dict = {
        "host": settings.host,
        "port": settings.port,
        "log_level": args.log_level,
        "access_log": False,
        "timeout_keep_alive": 30,
    }
    if settings.api_processes > 1:
        # Each API process builds the same app from the environment (schema already migrated).
        os.environ.update(settings.to_environment())
        uvicorn.run(
            "seqstore.server:app_from_environment", factory=True, workers=settings.api_processes, **options
        )
    else:
        uvicorn.run(application(store, job_threads=settings.concurrency), **options)
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from .server import build_domain

    store = build_domain(settings)
    store.keys.check_master_key()  # a key created with another master key would be unreadable
    if args.keys_command == "create":
        key = store.keys.create(name=args.name, read_only=args.read_only)
        kind = "read-only " if args.read_only else ""
        print(f"# new {kind}key {key.access_key_id}; the secret is shown only now")
        print(f"export AWS_ACCESS_KEY_ID={key.access_key_id}")
        print(f"export AWS_SECRET_ACCESS_KEY={key.secret_access_key}")
    elif args.keys_command == "list":
        for row in store.keys.list_keys():
            state = f"revoked {row['revoked']:%Y-%m-%d %H:%M}" if row["revoked"] else "active"
            access = "read-only" if row["readOnly"] else "read-write"
            print(f"{row['accessKeyId']}  {access:10}  {state:24}  {row['name'] or ''}")
    elif args.keys_command == "revoke":
        if not store.keys.revoke(args.access_key_id):
            print(f"no active key {args.access_key_id}", file=sys.stderr)
            return 1
        print(f"revoked {args.access_key_id} (servers stop accepting it within seconds)")
    elif args.keys_command == "token":
        return _token(store, args)
    return 0


def _token(store: Any, args: argparse.Namespace) -> int:
    """Print a bearer token (for htsget clients) on the last line."""
    from .dataplane.tokens import TokenError, make_token

    key_id = args.access_key_id
    if key_id is None:
        active = [row["accessKeyId"] for row in store.keys.list_keys() if not row["revoked"]]
        if store.keys.env_key is not None:
            active.append(store.keys.env_key.access_key_id)
        if len(active) != 1:
            print(
                f"seqstore: {len(active)} active keys; name one with --access-key-id (`seqstore keys list`)",
                file=sys.stderr,
            )
            return 2
        key_id = active[0]
    key = store.keys.lookup(key_id)
    if key is None:
        print(f"seqstore: no active key {key_id}", file=sys.stderr)
        return 2
    try:
        token = make_token(key, read_only=args.read_only, lifetime=args.expires_in)
    except TokenError as exc:
        print(f"seqstore: {exc}", file=sys.stderr)
        return 2
    kind = "read-only " if args.read_only or key.read_only else ""
    print(f"# a {kind}bearer token of key {key_id}, valid {args.expires_in} s; send it as Authorization: Bearer")
    print(token)
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
    print(
        f"seqstore worker running {settings.concurrency} job threads on {_redact(settings.resolved_database_url())}"
        f" and {settings.blob_url or settings.blob_dir.resolve()}",
        flush=True,
    )
    stop.wait()
    worker.stop()
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    """Re-read stored files against the database; one line per problem, a summary, status 1 if
    anything is wrong (seqstore/store/verify.py)."""
    from .jobs.verify_deep import deep_check
    from .server import build_domain
    from .store.verify import Verifier

    if args.rate is not None and args.rate <= 0:
        print("seqstore verify: --rate must be a positive number of MB/s", file=sys.stderr)
        return 2
    store = build_domain(settings)
    work_dir = settings.data_dir / "work" / "verify"
    work_dir.mkdir(parents=True, exist_ok=True)
    verifier = Verifier(
        store.db, store.blobs, work_dir=work_dir, rate=args.rate * 1e6 if args.rate else None,
        deep=deep_check(store, work_dir) if args.deep else None,
        progress=_progress_bar() if sys.stderr.isatty() else None,
    )
    subjects = verifier.subjects(
        sequence_store_id=args.sequence_store_id, reference_store_id=args.reference_store_id,
        read_set_id=args.read_set_id,
    )
    if args.read_set_id and not subjects:
        print(f"seqstore verify: no ACTIVE or ARCHIVED read set {args.read_set_id}", file=sys.stderr)
        return 2
    for finding in verifier.run(subjects):
        if sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr)
        print(finding.line(), flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(verifier.summary.line(), flush=True)
    return 1 if verifier.summary.problems else 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    """`seqstore backup DEST` / `seqstore restore SRC` (seqstore/store/backup.py)."""
    from .store import backup

    database = backup.sqlite_path(settings.resolved_database_url())
    if database is None or settings.blob_url:
        print(
            f"seqstore {args.command}: works on SQLite with local blobs only; with PostgreSQL use pg_dump "
            "(or its PITR), with an S3 blob bucket its versioning (docs/operations.md, \"Backups\")",
            file=sys.stderr,
        )
        return 2
    try:
        if args.command == "backup":
            copied = backup.backup(database, settings.data_dir, args.destination)
            print(f"backed up {database} and {copied.line()} to {args.destination}")
        else:
            copied = backup.restore(args.source, settings.data_dir)
            print(f"restored {args.source} into {settings.data_dir}: the database and {copied.line()}")
    except backup.BackupError as exc:
        print(f"seqstore {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


def _progress_bar() -> Callable[[int, int], None]:
    """A progress line on the terminal (stderr), redrawn at most ten times a second."""
    import time

    shown = [0.0]

    def draw(done: int, total: int) -> None:
        now = time.monotonic()
        if now - shown[0] < 0.1 and done < total:
            return
        shown[0] = now
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        print(f"\r[{bar:<30}] {share:6.1%} {done / 1e6:,.0f} of {total / 1e6:,.0f} MB", end="", file=sys.stderr,
              flush=True)

    return draw


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
    keys.set_defaults(run=_keys, log_level="warning")
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
    verify.set_defaults(run=_verify, log_level="warning")
    backup = commands.add_parser("backup", help="a consistent copy of the data dir, taken while the server runs")
    backup.add_argument("destination", type=Path, help="a new or empty directory")
    restore = commands.add_parser("restore", help="a backup into a new or empty data dir")
    restore.add_argument("source", type=Path, help="a directory `seqstore backup` wrote")
    for command in (backup, restore):
        _setting_options(command, command.prog.split()[-1])
        command.set_defaults(run=_backup, log_level="warning")
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
    logging.basicConfig(
        level=args.log_level.upper() if hasattr(args, "log_level") else "INFO",
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.audit_log is not None and args.command in ("serve", "worker"):  # others answer no requests
        audit = logging.getLogger("seqstore.audit")
        handler = logging.FileHandler(settings.audit_log)
        handler.setFormatter(logging.Formatter("%(message)s"))
        audit.addHandler(handler)
        audit.setLevel(logging.INFO)
        audit.propagate = False
    from .blobs import BlobStoreUnavailable
    from .store.access_keys import MasterKeyMismatch

    try:
        return int(args.run(args, settings))
    except (BlobStoreUnavailable, MasterKeyMismatch) as exc:  # a misconfiguration: say what, no traceback
        print(f"seqstore: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The `seqstore` command."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from pathlib import Path

from .config import Settings


def is_loopback(host: str) -> bool:
    """True when binding `host` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it could resolve to anything
        return False


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .server import application, build_domain

    settings = _settings(args)
    settings.host = args.host
    settings.port = args.port
    if args.auth:
        settings.auth = args.auth
    if args.workers is not None:
        settings.api_processes = args.workers
    if args.emulate_quotas:
        settings.emulate_quotas = True
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
        credentials = "  (signatures are not checked: --auth none; any credentials work)\n"
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
        f"  data:     {settings.data_dir.resolve()}\n"
        f"  database: {_redact(settings.resolved_database_url())}\n"
        f"  blobs:    {settings.blob_url or settings.blob_dir.resolve()}\n"
        f"  region:   {settings.region}   account: {settings.account_id}   auth: {settings.auth}\n"
        "\nPoint boto3, the AWS CLI or aws-healthomics-tools at it with:\n"
        f"  export AWS_ENDPOINT_URL_OMICS={url}\n"
        "  export AWS_DISABLE_HOST_PREFIX_INJECTION=true\n"
        f"  export AWS_DEFAULT_REGION={settings.region}\n" + credentials,
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


def _keys(args: argparse.Namespace) -> int:
    from .server import build_domain

    store = build_domain(_settings(args))
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
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the command line."""
    settings = Settings()
    settings.data_dir = Path(args.data_dir)
    if args.database_url:
        settings.database_url = args.database_url
    if args.buckets_dir:
        settings.buckets_dir = Path(args.buckets_dir)
    if getattr(args, "blob_url", None):
        settings.blob_url = args.blob_url
    if args.concurrency is not None:
        settings.concurrency = args.concurrency
    if getattr(args, "no_worker", False):
        settings.concurrency = 0
    return settings


def _worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from . import native
    from .server import build_domain, recover
    from .server import worker as build_worker

    settings = _settings(args)
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


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="seqstore", description="A self-hosted sequence store speaking the AWS HealthOmics storage API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the API server (and its job worker)")
    serve.add_argument(
        "--host", default=defaults.host, help="address to bind (env SEQSTORE_HOST; default %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=defaults.port, help="port (env SEQSTORE_PORT; default %(default)s)"
    )
    serve.add_argument(
        "--data-dir",
        default=str(defaults.data_dir),
        help="where the SQLite database and blobs live (env SEQSTORE_DATA_DIR; default %(default)s)",
    )
    serve.add_argument(
        "--database-url",
        default=defaults.database_url,
        help="SQLAlchemy URL of the metadata database (env SEQSTORE_DATABASE_URL; default: SQLite in the data dir)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="API processes (env SEQSTORE_API_PROCESSES; default 1); each also runs --concurrency job threads",
    )
    serve.add_argument(
        "--emulate-quotas",
        action="store_true",
        help="answer ThrottlingException beyond the real service's request rates (env SEQSTORE_EMULATE_QUOTAS; "
        "override with SEQSTORE_QUOTAS='GetReadSet=50,ListReadSets=0')",
    )
    serve.add_argument(
        "--no-worker", action="store_true", help="serve the API only; run jobs with `seqstore worker`"
    )
    serve.add_argument(
        "--auth",
        choices=["sigv4", "none"],
        default=None,
        help="verify AWS SigV4 signatures (default) or not; 'none' only on a loopback address (env SEQSTORE_AUTH)",
    )
    _common_options(serve, defaults)
    serve.set_defaults(run=_serve)
    keys = commands.add_parser("keys", help="manage the access keys clients sign requests with")
    keys.add_argument(
        "--data-dir", default=str(defaults.data_dir), help="as for serve (env SEQSTORE_DATA_DIR)"
    )
    keys.add_argument(
        "--database-url", default=defaults.database_url, help="as for serve (env SEQSTORE_DATABASE_URL)"
    )
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_commands.add_parser("create", help="create a key and print its export lines")
    create.add_argument(
        "--read-only", action="store_true", help="the key may call Get*/List* operations only"
    )
    create.add_argument("--name", help="a note saying whose key it is")
    keys_commands.add_parser("list", help="list keys (never their secrets)")
    revoke = keys_commands.add_parser("revoke", help="revoke a key")
    revoke.add_argument("access_key_id")
    keys.set_defaults(run=_keys, buckets_dir=None, concurrency=None, log_level="warning")
    worker = commands.add_parser(
        "worker", help="run job workers only (imports, exports, activations, ingestion)"
    )
    worker.add_argument(
        "--data-dir",
        default=str(defaults.data_dir),
        help="the data dir shared with `seqstore serve` (env SEQSTORE_DATA_DIR; default %(default)s)",
    )
    worker.add_argument(
        "--database-url", default=defaults.database_url, help="as for serve (env SEQSTORE_DATABASE_URL)"
    )
    _common_options(worker, defaults)
    worker.set_defaults(run=_worker)
    return parser


def _common_options(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    parser.add_argument(
        "--blob-url",
        default=None,
        help="keep read set and reference bytes in s3://BUCKET/PREFIX instead of DATA_DIR/blobs "
        "(env SEQSTORE_BLOB_URL; endpoint SEQSTORE_S3_ENDPOINT_URL, credentials from the AWS chain)",
    )
    parser.add_argument(
        "--buckets-dir",
        default=None,
        help="local directory standing in for S3 in import and export URIs: s3://BUCKET/KEY is DIR/BUCKET/KEY "
        "(env SEQSTORE_BUCKETS_DIR; default DATA_DIR/buckets unless SEQSTORE_S3_ENDPOINT_URL names a real endpoint)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help=f"job worker threads in this process, 0 for none (env SEQSTORE_CONCURRENCY; default {defaults.concurrency})",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument(
        "--audit-log",
        default=os.environ.get("SEQSTORE_AUDIT_LOG"),
        help="write the audit log (one JSON line per request) to this file instead of the log "
        "(env SEQSTORE_AUDIT_LOG)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper() if hasattr(args, "log_level") else "INFO",
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if getattr(args, "audit_log", None):
        audit = logging.getLogger("seqstore.audit")
        handler = logging.FileHandler(args.audit_log)
        handler.setFormatter(logging.Formatter("%(message)s"))
        audit.addHandler(handler)
        audit.setLevel(logging.INFO)
        audit.propagate = False
    from .blobs import BlobStoreUnavailable
    from .store.access_keys import MasterKeyMismatch

    try:
        return int(args.run(args))
    except (BlobStoreUnavailable, MasterKeyMismatch) as exc:  # a misconfiguration: say what, no traceback
        print(f"seqstore: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The `seqstore` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .config import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .api.app import build_store, create_app

    settings = _settings(args)
    settings.host = args.host
    settings.port = args.port
    store = build_store(settings)
    app = create_app(store, workers=settings.workers)
    url = f"http://{settings.host}:{settings.port}"
    print(
        f"seqstore is serving the HealthOmics storage API at {url}\n"
        f"  data:     {settings.data_dir.resolve()}\n"
        f"  database: {_redact(settings.resolved_database_url())}\n"
        f"  region:   {settings.region}   account: {settings.account_id}\n"
        "\nPoint boto3, the AWS CLI or aws-healthomics-tools at it with:\n"
        f"  export AWS_ENDPOINT_URL_OMICS={url}\n"
        "  export AWS_DISABLE_HOST_PREFIX_INJECTION=true\n"
        f"  export AWS_DEFAULT_REGION={settings.region}\n"
        f"  export AWS_ACCESS_KEY_ID={settings.access_key_id} "
        f"AWS_SECRET_ACCESS_KEY={settings.secret_access_key}\n",
        flush=True,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        access_log=False,
        timeout_keep_alive=30,
    )
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the command line."""
    settings = Settings()
    settings.data_dir = Path(args.data_dir)
    if args.database_url:
        settings.database_url = args.database_url
    if args.buckets_dir:
        settings.buckets_dir = Path(args.buckets_dir)
    if args.workers is not None:
        settings.workers = args.workers
    return settings


def _worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .api.app import build_store
    from .jobs.runners import build_worker, recover

    settings = _settings(args)
    store = build_store(settings)
    recover(store)
    worker = build_worker(store, settings.workers)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.start()
    print(
        f"seqstore worker running {settings.workers} job threads on {_redact(settings.resolved_database_url())}",
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
    _common_options(serve, defaults)
    serve.set_defaults(run=_serve)
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
        "--buckets-dir",
        default=None,
        help="local directory standing in for S3: s3://BUCKET/KEY is DIR/BUCKET/KEY "
        "(env SEQSTORE_BUCKETS_DIR; default DATA_DIR/buckets; SEQSTORE_S3_ENDPOINT_URL uses a real S3 endpoint instead)",
    )
    parser.add_argument(
        "--workers",
        "--concurrency",
        dest="workers",
        type=int,
        default=None,
        help=f"job worker threads in this process, 0 for none (env SEQSTORE_WORKERS; default {defaults.workers})",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper() if hasattr(args, "log_level") else "INFO",
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())

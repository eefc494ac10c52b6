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

    settings = Settings()
    settings.data_dir = Path(args.data_dir)
    settings.host = args.host
    settings.port = args.port
    if args.database_url:
        settings.database_url = args.database_url
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
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(run=_serve)
    return parser


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

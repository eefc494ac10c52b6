"""The `seqstore` commands that work on a data dir rather than serve it: keys (and bearer
tokens), verify, backup and restore. seqstore/cli.py parses the command line and calls them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .config import Settings


def keys(args: argparse.Namespace, settings: Settings) -> int:
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
        return token(store, args)
    return 0


def token(store: Any, args: argparse.Namespace) -> int:
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


def verify(args: argparse.Namespace, settings: Settings) -> int:
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


def backup(args: argparse.Namespace, settings: Settings) -> int:
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



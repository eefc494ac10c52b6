"""The command line (bench/fuzz.py, python -m tests.fuzzing): fuzz a running seqstore, or one of
its own on a temporary data directory, print the report and exit 1 if anything failed."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import tests.fuzzing
from tests.fuzzing.runner import run
from tests.helpers.servers import Server, running


@contextlib.contextmanager
def own_server(key: str, secret: str) -> Iterator[Server]:
    """A `seqstore serve` signing with this key, on a temporary data dir (gone afterwards)."""
    with tempfile.TemporaryDirectory(prefix="seqstore-fuzz-") as tmp:
        env = {"SEQSTORE_ACCESS_KEY_ID": key, "SEQSTORE_SECRET_ACCESS_KEY": secret}
        with running(Server(Path(tmp) / "data", env)) as server:
            yield server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(tests.fuzzing.__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--url", help="a running seqstore (default: start one on a temporary directory)")
    parser.add_argument("--access-key", default="fuzz-key")
    parser.add_argument("--secret", default="fuzz-secret")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--buckets-dir", type=Path, help="the server's buckets dir (to import a reference)")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.url:
        report = run(args.url, args.access_key, args.secret, requests=args.requests, seed=args.seed,
                     region=args.region, buckets_dir=args.buckets_dir, progress=progress)
        print(report.render())
        return 0 if report.ok else 1
    with own_server(args.access_key, args.secret) as server:
        report = run(server.url, args.access_key, args.secret, requests=args.requests, seed=args.seed,
                     region=args.region, buckets_dir=server.data_dir / "buckets", progress=progress)
        print(report.render())
        log_path = server.log_path
        errors = [line for line in log_path.read_text(errors="replace").splitlines()
                  if "Traceback" in line or "Error" in line or "ERROR" in line]
        if errors:
            print(f"server log ({log_path}) has {len(errors)} error lines, e.g.:")
            print("\n".join(f"  {line}" for line in errors[:20]))
            if not report.ok:
                print(log_path.read_text(errors="replace")[-6000:])
    return 0 if report.ok else 1

"""ListReadSetImportJobs filtered by creation time, as a store's job history grows.

A pipeline asks for the jobs it started recently (`filter.createdAfter`). On PostgreSQL (a fresh
schema, dropped at the end) one sequence store gets `--sizes` finished import jobs (rows written
straight into the jobs table, one second apart, VACUUM ANALYZE after each size); at each size a
running `seqstore serve` is asked, through boto3, for the jobs of the last minute (60 of them)
and for the first page of all jobs, `--calls` times each. Reports the median and p95 of each
and the ratio of the largest size's median to the smallest's (the target, as bench/scale.py's:
within 2x).

    .venv/bin/python bench/list_jobs_scale.py [--sizes 1000,100000] [--calls 30]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchlib import DEFAULT_POSTGRES_URL, libpq, with_schema
from scale import Server, omics_client, timed

FIRST = datetime(2026, 1, 1, tzinfo=UTC)
RECENT = 60  # jobs in the last minute


def add_jobs(connection: Any, store_id: str, start: int, stop: int) -> None:
    """Jobs number start..stop-1 of the store, finished, created one second apart from FIRST."""
    connection.execute(
        """
        INSERT INTO jobs (id, kind, store_id, status, role_arn, params, runnable, attempts,
                          completion_time, creation_time, update_time)
        SELECT lpad(g::text, 10, '0'), 'READSET_IMPORT', %(store)s, 'COMPLETED',
               'arn:aws:iam::123456789012:role/bench', '{}', false, 1,
               %(first)s + g * interval '1 second' + interval '5 minutes',
               %(first)s + g * interval '1 second', %(first)s + g * interval '1 second'
        FROM generate_series(%(start)s, %(stop)s - 1) AS g
        """,
        {"store": store_id, "first": FIRST.replace(tzinfo=None), "start": start, "stop": stop},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SEQSTORE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    import psycopg

    schema = f"seqstore_list_jobs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(args.postgres_url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    work = Path(tempfile.mkdtemp(prefix="seqstore-list-jobs-"))
    server = None
    results: dict[int, dict[str, dict[str, float]]] = {}  # size -> call -> p50, p95 (ms)
    try:
        server = Server(work / "data", with_schema(args.postgres_url, schema))
        omics = omics_client(server.url)
        store_id = str(omics.create_sequence_store(name="list-jobs")["id"])
        done = 0
        for size in sizes:
            with psycopg.connect(libpq(with_schema(args.postgres_url, schema)), autocommit=True) as connection:
                add_jobs(connection, store_id, done, size)
                connection.execute("VACUUM ANALYZE jobs")
            done = size
            recent = FIRST + timedelta(seconds=size - RECENT)

            def last_minute(recent: datetime = recent) -> None:
                jobs = omics.list_read_set_import_jobs(
                    sequenceStoreId=store_id, filter={"createdAfter": recent}, maxResults=100
                )["importJobs"]
                assert len(jobs) == RECENT, len(jobs)

            def first_page() -> None:
                jobs = omics.list_read_set_import_jobs(sequenceStoreId=store_id, maxResults=100)["importJobs"]
                assert len(jobs) == 100

            results[size] = {"last minute": timed(last_minute, args.calls), "first page": timed(first_page, args.calls)}
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(libpq(args.postgres_url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    print(f"ListReadSetImportJobs on PostgreSQL, {args.calls} calls each; ms\n")
    print(f"{'jobs in the store':>18} {'call':>12} {'p50':>8} {'p95':>8}")
    for size, by_call in results.items():
        for name, figures in by_call.items():
            print(f"{size:>18,} {name:>12} {figures['p50']:8.2f} {figures['p95']:8.2f}")
    smallest, largest = results[sizes[0]], results[sizes[-1]]
    for name in ("last minute", "first page"):
        ratio = largest[name]["p50"] / smallest[name]["p50"]
        print(f"{name}: {sizes[-1]:,} jobs / {sizes[0]:,} jobs = {ratio:.2f}x (target within 2x)")


if __name__ == "__main__":
    main()

"""ListObjectsV2 of a large sequence store beside ListReadSets of the same store, in one run.

Fills one store with `--size` ACTIVE read sets (default 100k; the synthetic rows of
bench/scale.py, written through the service layer, no file bytes) on the default SQLite database,
or on PostgreSQL with `--postgres`, then times through HTTP with boto3, median and p95 of
`--reps` calls each:

- ListObjectsV2 of the store's s3Uri prefix, MaxKeys=1000: the first page and page `--deep-page`
  (the continuation tokens followed once, then only that page's request timed);
- ListReadSets (maxResults=100, the API's maximum) first page and the page at the same depth in
  read sets.

The issue's target: a page of 1,000 keys within 2x of a page of ListReadSets. A read set has one
to two files, so 1,000 keys cover about 650 read sets: the per-read-set ratio is printed too.

    .venv/bin/python bench/s3_listing.py [--size 100000] [--reps 30] [--postgres]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
from benchlib import DEFAULT_POSTGRES_URL, libpq, with_schema
from botocore import UNSIGNED
from botocore.config import Config
from scale import ROOT, Filler, Server, omics_client, timed  # bench/ is on sys.path
from sqlalchemy import text

sys.path.insert(0, str(ROOT))
from seqstore.config import Settings  # noqa: E402
from seqstore.server import build_domain  # noqa: E402

KEYS = 1000
READ_SETS = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="ACTIVE read sets in the store")
    parser.add_argument("--reps", type=int, default=30, help="timed calls per request")
    parser.add_argument("--deep-page", type=int, default=50, help="the later ListObjectsV2 page timed")
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL instead of SQLite")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seqstore-s3-listing-"))
    database_url = f"sqlite:///{work / 'data' / 'seqstore.db'}"
    schema = None
    if args.postgres:
        import psycopg

        schema = f"seqstore_listing_{uuid.uuid4().hex[:12]}"
        database_url = with_schema(os.environ.get("SEQSTORE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL), schema)
        with psycopg.connect(libpq(DEFAULT_POSTGRES_URL), autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    (work / "data").mkdir()
    server = Server(work / "data", database_url)
    try:
        omics = omics_client(server.url)
        store = omics.create_sequence_store(name="listing")
        store_id = str(store["id"])
        domain = build_domain(Settings(data_dir=work / "data", database_url=database_url))
        filler = Filler(domain, store_id, 5000)
        seconds = filler.fill_to(args.size)
        with domain.db.write() as connection:  # where ingestion puts a file: under its read set's id
            connection.execute(
                text("UPDATE read_set_files SET blob_key = :prefix || '/' || read_set_id || '/' || file_name"),
                {"prefix": filler.prefix},
            )
        domain.db.dispose()
        print(f"filled {args.size:,} read sets in {seconds:.0f} s", file=sys.stderr)
        s3_uri = omics.get_sequence_store(id=store_id)["s3Access"]["s3Uri"]
        bucket, _, prefix = s3_uri.removeprefix("s3://").partition("/")
        s3 = boto3.client(
            "s3", endpoint_url=server.url, region_name="us-east-1",
            config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
        )  # fmt: skip

        def objects(token: str | None = None) -> Any:
            extra = {"ContinuationToken": token} if token else {}
            return s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=KEYS, **extra)

        def read_sets(token: str | None = None) -> Any:
            extra = {"nextToken": token} if token else {}
            return omics.list_read_sets(sequenceStoreId=store_id, maxResults=READ_SETS, **extra)

        first = objects()
        assert first["KeyCount"] == KEYS, (s3_uri, first)
        token = None
        for _ in range(args.deep_page - 1):
            token = objects(token)["NextContinuationToken"]
        deep_key = objects(token)["Contents"][0]["Key"]
        # The ListReadSets page holding the same read set as the deep ListObjectsV2 page.
        depth = sorted(domain_ids(omics, store_id)).index(deep_key.split("/readSet/")[1].split("/")[0])
        rs_token = None
        for _ in range(depth // READ_SETS):
            rs_token = read_sets(rs_token)["nextToken"]
        port = int(server.url.rsplit(":", 1)[1])
        query = urlencode({"list-type": "2", "prefix": prefix, "max-keys": KEYS, "encoding-type": "url"})
        raw_objects = raw_call(port, "GET", f"/{bucket}?{query}", expect=b"<KeyCount>1000</KeyCount>")
        raw_read_sets = raw_call(
            port, "POST", f"/sequencestore/{store_id}/readsets?maxResults={READ_SETS}", expect=b'"readSets"'
        )
        figures = {
            "ListObjectsV2, first page of 1,000 keys": timed(lambda: objects(), args.reps),
            f"ListObjectsV2, page {args.deep_page}": timed(lambda: objects(token), args.reps),
            "ListReadSets, first page of 100": timed(lambda: read_sets(), args.reps),
            f"ListReadSets, page {depth // READ_SETS + 1}": timed(lambda: read_sets(rs_token), args.reps),
            "ListObjectsV2, first page, bare HTTP": timed(raw_objects, args.reps),
            "ListReadSets, first page, bare HTTP": timed(raw_read_sets, args.reps),
        }
        per_page = sum(1 for _ in {k["Key"].split("/readSet/")[1].split("/")[0] for k in first["Contents"]})
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
        if schema is not None:
            import psycopg

            with psycopg.connect(libpq(DEFAULT_POSTGRES_URL), autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\n{args.size:,} ACTIVE read sets, {backend}, 2 cores, median (p95) ms of {args.reps} calls\n")
    for name, figure in figures.items():
        print(f"{name:<44} {figure['p50']:8.2f} ({figure['p95']:.2f})")
    names = list(figures)
    first_ratio = figures[names[0]]["p50"] / figures[names[2]]["p50"]
    deep_ratio = figures[names[1]]["p50"] / figures[names[3]]["p50"]
    print(f"\nratio, page of 1,000 keys / page of ListReadSets: first {first_ratio:.2f}x, deep {deep_ratio:.2f}x"
          f" (target <= 2x)")
    raw_ratio = figures[names[4]]["p50"] / figures[names[5]]["p50"]
    print(f"the same first pages without boto3 (http.client, the server's time and the bytes): {raw_ratio:.2f}x")
    print(f"a page of 1,000 keys holds {per_page} read sets: per read set "
          f"{first_ratio * READ_SETS / per_page:.2f}x (first), {deep_ratio * READ_SETS / per_page:.2f}x (deep)")


def raw_call(port: int, method: str, path: str, expect: bytes) -> Callable[[], None]:
    """One request on a kept-alive connection, unsigned (`--auth none`), its body read whole."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    body = b"{}" if method == "POST" else None
    headers = {"Content-Type": "application/json"} if body else {}

    def call() -> None:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        assert response.status == 200 and expect in data, (response.status, data[:300])

    return call


def domain_ids(omics: Any, store_id: str) -> list[str]:
    """Every read set id of the store, through ListReadSets."""
    ids, token = [], None
    while True:
        extra = {"nextToken": token} if token else {}
        page = omics.list_read_sets(sequenceStoreId=store_id, maxResults=READ_SETS, **extra)
        ids += [r["id"] for r in page["readSets"]]
        token = page.get("nextToken")
        if not token:
            return ids


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"whole run {time.perf_counter() - started:.0f} s", file=sys.stderr)

"""Latency of the calls that touch a few read sets while one sequence store grows to 1M read sets.

Starts `seqstore serve --auth none` on a fresh PostgreSQL schema, creates one sequence store and
grows it, size by size (default 10k, 100k, 1M ACTIVE read sets, plus ~0.9% PROCESSING_UPLOAD and
UPLOAD_FAILED ones), with synthetic metadata rows written through the service layer
(`ReadSets.insert_active_many`, which is `insert_processing` + `mark_active` in multi-row
statements, for the ACTIVE ones; `insert_processing` and `fail_processing` one by one for the
others), one transaction per batch. Only metadata: no file bytes exist. After each fill the
tables are VACUUM ANALYZEd (the state autovacuum reaches on its own), then boto3 times, through
the HTTP API, median and p95 of `--reps` calls:

- GetReadSetMetadata of a random ACTIVE read set;
- ListReadSets (maxResults=100) first page and page `--deep-page` (the nextToken followed
  page by page once, then only that page's request timed), without a filter and with
  `status=ACTIVE` (99% of the read sets);
- ListReadSets first page with selective filters, each a random existing value: `sampleId`
  (10 read sets share one), `subjectId` (100), `status=ACTIVE` + `name` (5); and with
  `createdAfter` the newest batch (a full page out of the last `--batch` read sets);
- BatchDeleteReadSet of 100 random ACTIVE ids (`--delete-reps` calls on distinct ids, last).

Prints a table operation x size with the ratio of the largest size to the smallest, flagging
ratios above 2x (the target), then drops the schema (unless `--keep-schema`).

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--reps 50]
    .venv/bin/python bench/scale.py --sizes 1000,5000 --deep-page 10     # a quick run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import (  # noqa: E402 - bench/ is on sys.path when a script of it runs
    DEFAULT_POSTGRES_URL,
    free_port,
    libpq,
    wait_healthy,
    with_schema,
)

from seqstore.config import Settings  # noqa: E402
from seqstore.server import build_domain  # noqa: E402
from seqstore.store.bulk import IngestedReadSet, insert_active_many  # noqa: E402
from seqstore.store.domain import Domain  # noqa: E402
from seqstore.store.read_set_lifecycle import Analysis  # noqa: E402
from seqstore.store.read_set_rows import StoredFile  # noqa: E402

PAGE = 100  # maxResults of every ListReadSets call (the API's maximum)
TARGET = 2.0  # each operation at the largest size within 2x of the smallest size's figure
# The synthetic distribution, by the read set's position i in the store.
NAME_GROUP, SAMPLE_GROUP, SUBJECT_GROUP = 5, 10, 100  # read sets sharing a name / sampleId / subjectId
GENERATED_GROUP = 10  # read sets sharing a generatedFrom (every other read set has one)
FILE_TYPES = ["FASTQ"] * 12 + ["BAM"] * 5 + ["UBAM"] * 2 + ["CRAM"]  # by i % 20


class Server:
    """`seqstore serve --auth none` on a free port, the given data dir and database."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / "server.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seqstore.cli",
                "serve",
                "--auth",
                "none",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                "--database-url",
                database_url,
                "--log-level",
                "warning",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            wait_healthy(self.url, process=self.process, seconds=60)
        except SystemExit:
            self.stop()
            raise SystemExit(f"server did not start:\n{self.log_path.read_text()[-3000:]}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def omics_client(url: str) -> Any:
    """A boto3 omics client configured the way users configure it: through the environment."""
    import boto3

    os.environ.update(
        {
            "AWS_ENDPOINT_URL_OMICS": url,
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "scale-bench",
            "AWS_SECRET_ACCESS_KEY": "scale-bench-secret",
        }
    )
    return boto3.session.Session().client("omics")


# --- filling


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def status_of(i: int) -> str:
    """~0.5% PROCESSING_UPLOAD, ~0.4% UPLOAD_FAILED, the rest ACTIVE."""
    if i % 200 == 199:
        return "PROCESSING_UPLOAD"
    if i % 250 == 124:
        return "UPLOAD_FAILED"
    return "ACTIVE"


def name_of(i: int) -> str:
    return f"run-{i // NAME_GROUP:07d}"


def sample_of(i: int) -> str:
    return f"sample-{i // SAMPLE_GROUP:07d}"


def generated_of(i: int) -> str:
    """The generatedFrom of read set i, or of the read set before it when i is odd (odd ones have none)."""
    return f"flowcell-{(i // 2) // GENERATED_GROUP:07d}"


def subject_of(i: int) -> str:
    return f"subject-{i // SUBJECT_GROUP:06d}"


def synthetic_source(i: int, reference_arn: str) -> SimpleNamespace:
    """An upload / import source row (what `insert_processing` reads) for read set number i."""
    file_type = FILE_TYPES[i % 20]
    return SimpleNamespace(
        name=name_of(i),
        description=f"synthetic read set {i}" if i % 3 == 0 else None,
        subject_id=subject_of(i),
        sample_id=sample_of(i),
        generated_from=generated_of(i) if i % 2 == 0 else None,
        reference_arn=reference_arn if file_type in ("BAM", "CRAM") else None,
        source_file_type=file_type,
        tags={"project": "scale", "batch": str(i // 1000)} if i % 100 == 0 else {},
    )


def synthetic_active(i: int, source: SimpleNamespace, prefix: str) -> IngestedReadSet:
    """What ingestion would have found for read set number i (files under `prefix`, not stored)."""
    file_type = source.source_file_type
    paired = file_type == "FASTQ" and i % 2 == 0
    base = f"{prefix}/synthetic-{i:07d}"
    if file_type == "FASTQ":
        files = [StoredFile("source1", f"{base}/R1.fastq.gz", "R1.fastq.gz", 160_000_000 + i)]
        if paired:
            files.append(StoredFile("source2", f"{base}/R2.fastq.gz", "R2.fastq.gz", 150_000_000 + i))
    else:
        extension = file_type.lower().replace("ubam", "bam")
        files = [
            StoredFile(
                "source1", f"{base}/{source.name}.{extension}", f"{source.name}.{extension}", 150_000_000 + i
            )
        ]
        if file_type in ("BAM", "CRAM"):
            index = "crai" if file_type == "CRAM" else "bai"
            files.append(
                StoredFile(
                    "index", f"{base}/{source.name}.{extension}.{index}", f"{source.name}.{index}", 2_000_000
                )
            )
    reads = (2 if paired else 1) * (1_000_000 + i % 1000)
    return IngestedReadSet(
        source=source,
        creation_type="IMPORT" if i % 4 == 0 else "UPLOAD",
        creation_job_id=f"{(i // 1000) % 10**10:010d}" if i % 4 == 0 else f"{(7 * i) % 10**10:010d}",
        analysis=Analysis(
            read_count=reads,
            base_count=reads * 150,
            alignment="ALIGNED" if file_type in ("BAM", "CRAM") else "UNALIGNED",
            etag_algorithm=f"{file_type}_MD5up",
            etags={"source1": md5(f"{i}/1"), **({"source2": md5(f"{i}/2")} if paired else {})},
        ),
        files=files,
    )


class Filler:
    """Grows one store through the service layer and remembers its ACTIVE ids."""

    def __init__(self, ctx: Domain, store_id: str, batch: int) -> None:
        self.ctx = ctx
        self.store_id = store_id
        self.batch = batch
        self.count = 0  # read sets created
        self.created_active = 0  # of which ACTIVE
        self.active: list[str] = []  # ACTIVE ids not deleted since
        self.last_batch_time = datetime.now(UTC)  # at most the creation time of the newest batch
        settings = ctx.settings
        self.reference_arn = ctx.arns.reference("1000000001", "1000000001")
        self.prefix = f"{settings.account_id}/sequenceStore/{store_id}/readSet"

    def fill_to(self, size: int) -> float:
        """Add read sets until `size` ACTIVE ones were created (the ~0.9% others come on top, so
        that a status=ACTIVE list has as many full pages as an unfiltered one)."""
        started = time.perf_counter()
        with self.ctx.db.read() as connection:
            store = self.ctx.sequence_stores.require(connection, self.store_id)
        while self.created_active < size:
            items: list[IngestedReadSet] = []
            others: list[tuple[int, SimpleNamespace]] = []
            while len(items) < min(self.batch, size - self.created_active):
                i = self.count
                source = synthetic_source(i, self.reference_arn)
                if status_of(i) == "ACTIVE":
                    items.append(synthetic_active(i, source, self.prefix))
                else:
                    others.append((i, source))
                self.count += 1
            moment = datetime.now(UTC)
            self.last_batch_time = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
            with self.ctx.db.write() as connection:
                self.active.extend(
                    insert_active_many(connection, self.ctx.arns, self.ctx.settings.part_size, store, items)
                )
                for i, source in others:
                    creation = "IMPORT" if i % 4 == 0 else "UPLOAD"
                    read_set_id = self.ctx.lifecycle.insert_processing(
                        connection, store, source, creation_type=creation, creation_job_id=f"{i:010d}"
                    )
                    if status_of(i) == "UPLOAD_FAILED":
                        self.ctx.lifecycle.fail_processing(
                            [read_set_id], "synthetic: the file is not valid FASTQ (line 4)", connection
                        )
            self.created_active += len(items)
            print(f"\r  {self.count:,} read sets", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        return time.perf_counter() - started


def vacuum_analyze(database_url: str) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(libpq(database_url), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) read_sets, read_set_files, tags")
    return time.perf_counter() - started


# --- measuring


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def timed(call: Callable[[], Any], reps: int, warmup: int = 3) -> dict[str, float]:
    """Median and p95 in ms of `reps` calls (after `warmup` untimed ones)."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(times), "p95": percentile(times, 0.95), "n": len(times)}


def token_for_page(omics: Any, store_id: str, page: int, flt: dict[str, Any] | None) -> str | None:
    """The nextToken that asks for page `page` (following the tokens from the first page), or
    None when the list has fewer pages."""
    extra = {"filter": flt} if flt else {}
    token = None
    for _ in range(page - 1):
        got = omics.list_read_sets(
            sequenceStoreId=store_id, maxResults=PAGE, **extra, **({"nextToken": token} if token else {})
        )
        token = got.get("nextToken")
        if token is None:
            return None
    return token


def measure(
    omics: Any, store_id: str, filler: Filler, args: argparse.Namespace, rng: random.Random
) -> dict[str, Any]:
    """Every operation's figures at the store's current size (BatchDeleteReadSet last: it
    changes the store)."""
    results: dict[str, Any] = {}
    n = filler.count
    reps = args.reps

    def existing(value_of: Callable[[int], str], status: str | None = None) -> str:
        while True:
            i = rng.randrange(n)
            if status is None or status_of(i) == status:
                return value_of(i)

    def list_call(flt: Any = None, token: str | None = None, expect: int | None = None) -> Callable[[], Any]:
        """A ListReadSets call; `flt` is a filter or a function making one per call."""

        def call() -> Any:
            params: dict[str, Any] = {"sequenceStoreId": store_id, "maxResults": PAGE}
            if flt is not None:
                params["filter"] = flt() if callable(flt) else flt
            if token is not None:
                params["nextToken"] = token
            got = omics.list_read_sets(**params)
            if expect is not None and len(got["readSets"]) != expect:
                raise SystemExit(
                    f"ListReadSets {params} gave {len(got['readSets'])} read sets, expected {expect}"
                )
            return got

        return call

    results["GetReadSetMetadata"] = timed(
        lambda: omics.get_read_set_metadata(sequenceStoreId=store_id, id=rng.choice(filler.active)), reps
    )
    for label, flt in (("", None), (", status=ACTIVE", {"status": "ACTIVE"})):
        results[f"ListReadSets page 1{label}"] = timed(list_call(flt, expect=PAGE), reps)
        token = token_for_page(omics, store_id, args.deep_page, flt)
        key = f"ListReadSets page {args.deep_page}{label}"
        results[key] = timed(list_call(flt, token), reps) if token else None
    selective: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        (f"sampleId ({SAMPLE_GROUP} read sets)", lambda: {"sampleId": existing(sample_of)}),
        (f"subjectId ({SUBJECT_GROUP})", lambda: {"subjectId": existing(subject_of)}),
        (f"generatedFrom ({GENERATED_GROUP})", lambda: {"generatedFrom": existing(generated_of)}),
        (
            f"status=ACTIVE + name ({NAME_GROUP})",
            lambda: {"status": "ACTIVE", "name": existing(name_of, "ACTIVE")},
        ),
    ]
    for label, make_filter in selective:
        results[f"ListReadSets page 1, {label}"] = timed(list_call(make_filter), reps)
    # The newest batch (up to --batch read sets, created after every other): "what is new".
    newest = {"createdAfter": filler.last_batch_time}
    results["ListReadSets page 1, createdAfter (newest batch)"] = timed(list_call(newest, expect=PAGE), reps)

    def batch_delete() -> None:
        ids = []
        for _ in range(100):  # distinct random ACTIVE ids, taken out of the pool
            position = rng.randrange(len(filler.active))
            filler.active[position], filler.active[-1] = filler.active[-1], filler.active[position]
            ids.append(filler.active.pop())
        got = omics.batch_delete_read_set(sequenceStoreId=store_id, ids=ids)
        if got.get("errors"):
            raise SystemExit(f"BatchDeleteReadSet reported errors: {got['errors'][:3]}")

    results["BatchDeleteReadSet (100 ids)"] = timed(batch_delete, args.delete_reps, warmup=1)
    return results


def size_label(size: int) -> str:
    for unit, word in ((1_000_000, "M"), (1_000, "k")):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{word}"
    return f"{size:,}"


def print_table(sizes: list[int], by_size: dict[int, dict[str, Any]]) -> list[str]:
    """Markdown table: p50 (p95) ms per size, the largest/smallest ratio of the p50s; returns
    the operations over the target."""
    first, last = sizes[0], sizes[-1]
    operations = list(by_size[first])
    header = (
        ["operation"]
        + [f"{size_label(s)} p50 (p95) ms" for s in sizes]
        + [f"{size_label(last)}/{size_label(first)}"]
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    missed = []
    for op in operations:
        cells = [op]
        for size in sizes:
            figure = by_size[size].get(op)
            cells.append(f"{figure['p50']:.2f} ({figure['p95']:.2f})" if figure else "n/a")
        a, b = by_size[first].get(op), by_size[last].get(op)
        if a and b and len(sizes) > 1:
            ratio = b["p50"] / a["p50"]
            flag = f" **> {TARGET:g}x**" if ratio > TARGET else ""
            cells.append(f"{ratio:.2f}x{flag}")
            if ratio > TARGET:
                missed.append(op)
        else:
            cells.append("n/a")
        print("| " + " | ".join(cells) + " |")
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="store sizes (read sets), ascending")
    parser.add_argument("--reps", type=int, default=50, help="timed calls per operation and size")
    parser.add_argument(
        "--delete-reps", type=int, default=10, help="BatchDeleteReadSet calls (100 ids each) per size"
    )
    parser.add_argument("--deep-page", type=int, default=100, help="the later ListReadSets page timed")
    parser.add_argument("--batch", type=int, default=5000, help="read sets written per transaction")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SEQSTORE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random choices of ids and filters")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--keep-schema",
        action="store_true",
        help="keep the filled schema (to EXPLAIN queries); prints its URL",
    )
    args = parser.parse_args()
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",")})
    rng = random.Random(args.seed)

    import psycopg

    schema = f"seqstore_scale_{uuid.uuid4().hex[:12]}"
    database_url = with_schema(args.postgres_url, schema)
    work = Path(tempfile.mkdtemp(prefix="seqstore-scale-"))
    with psycopg.connect(libpq(args.postgres_url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    server = None
    store_id = ""
    started = time.perf_counter()
    try:
        server = Server(work / "data", database_url)  # migrates the schema
        omics = omics_client(server.url)
        store_id = str(omics.create_sequence_store(name="scale")["id"])
        ctx = build_domain(Settings(data_dir=work / "bench", database_url=database_url))
        filler = Filler(ctx, store_id, args.batch)
        by_size: dict[int, dict[str, Any]] = {}
        fills: dict[int, dict[str, float]] = {}
        for size in sizes:
            before = filler.count
            fill_seconds = filler.fill_to(size)
            added = filler.count - before
            vacuum_seconds = vacuum_analyze(database_url)
            fills[size] = {
                "added": added,
                "total": filler.count,
                "fill_s": fill_seconds,
                "vacuum_s": vacuum_seconds,
            }
            print(
                f"{size_label(size)}: +{added:,} read sets in {fill_seconds:.1f} s "
                f"({added / fill_seconds:,.0f}/s), VACUUM ANALYZE {vacuum_seconds:.1f} s",
                file=sys.stderr,
            )
            measuring = time.perf_counter()
            by_size[size] = measure(omics, store_id, filler, args, rng)
            print(f"{size_label(size)}: measured in {time.perf_counter() - measuring:.1f} s", file=sys.stderr)
        ctx.db.dispose()
        total = time.perf_counter() - started
        print()
        missed = print_table(sizes, by_size)
        print()
        fill_total = sum(f["fill_s"] for f in fills.values())
        print(
            f"Filled {filler.count:,} read sets ({sizes[-1]:,} ACTIVE) in {fill_total:.0f} s "
            f"({filler.count / fill_total:,.0f}/s; batches of {args.batch:,}), VACUUM ANALYZE "
            f"{sum(f['vacuum_s'] for f in fills.values()):.0f} s; whole run {total:.0f} s."
        )
        if len(sizes) > 1:
            verdict = (
                f"over {TARGET:g}x: {', '.join(missed)}" if missed else f"every operation within {TARGET:g}x"
            )
            print(
                f"Target ({size_label(sizes[-1])} within {TARGET:g}x of {size_label(sizes[0])}): {verdict}."
            )
        if args.json:
            args.json.write_text(
                json.dumps({"sizes": sizes, "figures": by_size, "fills": fills, "total_s": total}, indent=2)
            )
    finally:
        if server is not None:
            server.stop()
        if args.keep_schema:
            print(
                f"Kept the schema: {database_url} (store {store_id}); DROP SCHEMA {schema} CASCADE when done."
            )
        else:
            with psycopg.connect(libpq(args.postgres_url), autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

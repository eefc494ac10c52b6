"""seqstore.testing beside moto: how long a test suite waits for its fake AWS.

- `OmicsServer()` entered to the first successful CreateSequenceStore, in a fresh interpreter
  (imports timed apart), and again for a second server in the same process;
- moto's `mock_aws()` entered to the first successful S3 `create_bucket`, the same way;
- `reset()` of an empty server, and of one holding 100 sequence stores with 1,000 ACTIVE read
  sets (10 each, metadata rows written through the domain as bench/scale.py does; no file bytes).

Prints one JSON line of medians (seconds, `--runs` fresh interpreters / resets each).

    .venv/bin/python bench/testing_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SEQSTORE_COLD = """
import json, time
t0 = time.perf_counter()
import boto3
from seqstore.testing import OmicsServer
import seqstore.server, uvicorn  # what start() imports, timed with the imports
t1 = time.perf_counter()
server = OmicsServer().__enter__()
server.client().create_sequence_store(name="first")
t2 = time.perf_counter()
server.__exit__(None, None, None)
t3 = time.perf_counter()
with OmicsServer() as again:
    again.client().create_sequence_store(name="first")
    t4 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "enter_to_create": t2 - t1, "warm_enter_to_create": t4 - t3}))
"""

MOTO_COLD = """
import json, time
t0 = time.perf_counter()
import boto3
from moto import mock_aws
t1 = time.perf_counter()
with mock_aws():
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="first")
    t2 = time.perf_counter()
t3 = time.perf_counter()
with mock_aws():
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="first")
    t4 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "enter_to_create": t2 - t1, "warm_enter_to_create": t4 - t3}))
"""


def cold(script: str, runs: int) -> dict[str, float]:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: round(statistics.median(r[key] for r in results), 4) for key in results[0]}


def resets(runs: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "bench"))
    from scale import Filler  # bench/scale.py's synthetic read sets

    from seqstore.server import build_domain
    from seqstore.testing import OmicsServer

    empty, full = [], []
    with OmicsServer() as server:
        omics = server.client()
        domain = build_domain(server._settings())  # the same database, to fill it fast
        for _ in range(runs):
            server.reset()
            started = time.perf_counter()
            server.reset()
            empty.append(time.perf_counter() - started)
            for number in range(100):
                store_id = omics.create_sequence_store(name=f"store-{number}")["id"]
                Filler(domain, store_id, batch=10).fill_to(10)
            assert sum(1 for _ in omics.list_sequence_stores(maxResults=100)["sequenceStores"]) == 100
            started = time.perf_counter()
            server.reset()
            full.append(time.perf_counter() - started)
            assert omics.list_sequence_stores()["sequenceStores"] == []
        domain.db.dispose()
    return {"reset_empty": round(statistics.median(empty), 4),
            "reset_100_stores_1000_read_sets": round(statistics.median(full), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    seqstore, moto = cold(SEQSTORE_COLD, args.runs), cold(MOTO_COLD, args.runs)
    figures = {"seqstore": seqstore, "moto": moto, **resets(args.runs)}
    figures["start_ratio_to_moto"] = round(seqstore["enter_to_create"] / moto["enter_to_create"], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

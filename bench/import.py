"""Import job throughput beside its floor, in one run.

Imports N FASTQ.gz pairs (default 20) from the local buckets directory in ONE
StartReadSetImportJob and times submission → COMPLETED. The floor is the sum of the per-file
`gzip -dc F | md5sum` times divided by the number of cores (and the same with ISA-L's igzip).
The pairs are copies of one generated pair (bench/ingest.py's generator), so the per-file floor
is measured once per distinct file and multiplied.

    .venv/bin/python bench/import.py --pairs-per-file 250000 --sources 20
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from benchlib import free_port, timed, wait_healthy

HERE = Path(__file__).resolve().parent


def load_ingest_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_ingest", HERE / "ingest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs-per-file", type=int, default=250_000, help="read pairs in each FASTQ pair")
    parser.add_argument("--sources", type=int, default=20, help="FASTQ pairs in the import job (1..100)")
    args = parser.parse_args()
    _, r1, r2, _ = load_ingest_bench().generate(args.pairs_per_file)

    data_dir = Path(tempfile.mkdtemp(prefix="seqstore-bench-import-"))
    bucket = data_dir / "buckets" / "bench-import"
    bucket.mkdir(parents=True)
    for i in range(args.sources):
        os.link(r1, bucket / f"sample{i}_R1.fastq.gz")
        os.link(r2, bucket / f"sample{i}_R2.fastq.gz")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ.update({
        "AWS_ENDPOINT_URL_OMICS": url, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "SEQSTORE_ACCESS_KEY_ID": "bench", "SEQSTORE_SECRET_ACCESS_KEY": "bench-secret",
    })
    server = subprocess.Popen(
        [sys.executable, "-m", "seqstore.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--log-level", "warning"], stdout=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url, process=server)
        floors = {
            "gzip": timed(f"gzip -dc {r1} | md5sum") + timed(f"gzip -dc {r2} | md5sum"),
            "igzip": timed(f"{sys.executable} -m isal.igzip -dc {r1} | md5sum")
            + timed(f"{sys.executable} -m isal.igzip -dc {r2} | md5sum"),
        }
        omics = boto3.session.Session().client("omics")
        store_id = omics.create_sequence_store(name="bench-import")["id"]
        sources = [
            {"sourceFiles": {"source1": f"s3://bench-import/sample{i}_R1.fastq.gz",
                             "source2": f"s3://bench-import/sample{i}_R2.fastq.gz"},
             "sourceFileType": "FASTQ", "subjectId": f"subject{i}", "sampleId": f"sample{i}", "name": f"sample{i}"}
            for i in range(args.sources)
        ]
        started = time.perf_counter()
        job = omics.start_read_set_import_job(
            sequenceStoreId=store_id, roleArn="arn:aws:iam::123456789012:role/bench", sources=sources
        )
        while (got := omics.get_read_set_import_job(sequenceStoreId=store_id, id=job["id"]))["status"] in (
            "SUBMITTED", "IN_PROGRESS"
        ):
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        if got["status"] != "COMPLETED":
            raise SystemExit(f"import ended {got['status']}: {got.get('statusMessage')}")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)

    cores = os.cpu_count() or 1
    print(f"\n{args.sources} FASTQ.gz pairs of {args.pairs_per_file} read pairs (R1 {r1.stat().st_size / 1e6:.0f} MB gz) "
          f"in one import job; {cores} cores\n")
    for name, per_pair in floors.items():
        floor = per_pair * args.sources / cores
        print(f"floor: sum of per-file `{name} -dc | md5sum` / cores   {floor:8.2f} s")
    print(f"seqstore import job, submitted → COMPLETED        {elapsed:8.2f} s")
    for name, per_pair in floors.items():
        print(f"ratio to the {name} floor                          {elapsed / (per_pair * args.sources / cores):8.2f}x")


if __name__ == "__main__":
    main()

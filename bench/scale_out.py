"""Scale-out figures on PostgreSQL + an S3-compatible server (moto's S3 server), in one run:

1. metadata API requests/s (GetSequenceStore, wrk) with 1 and with 2 API processes
   (`seqstore serve --workers N --no-worker`), alternated over rounds; medians and their ratio;
2. direct-upload throughput into the S3 blob store (aws-healthomics-tools' TransferManager, 100 MiB
   parts, until CompleteMultipartReadSetUpload returns) beside boto3's own `upload_file` of the
   same file to the same S3 server;
3. import of N FASTQ.gz pairs held in the S3 server, with 1 and with 2 `seqstore worker`
   processes (one job thread each), beside the floor: the sum of per-file `gzip -dc | md5sum` times
   divided by the number of cores. The pairs go in one job (`--jobs` splits them): the workers
   share its sources.

    apt-get install wrk        # once
    .venv/bin/python bench/scale_out.py [--seconds 5] [--rounds 3] [--upload-pairs 1000000]
        [--import-pairs 250000] [--sources 20] [--jobs 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import psycopg
from benchlib import free_port, timed, wait_healthy

HERE = Path(__file__).resolve().parent
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "us-east-1"}


def load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


api = load("api_latency")


class Deployment:
    """moto's S3 server, a fresh PostgreSQL schema, and seqstore processes started on demand."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="seqstore-bench-scale-out-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        s3_port = free_port()
        self.s3_url = f"http://127.0.0.1:{s3_port}"
        self.start([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)], "s3")
        wait_healthy(self.s3_url, "/moto-api/")
        self.schema = f"bench_scale_out_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        self.s3 = boto3.session.Session(**{k.lower(): v for k, v in CREDENTIALS.items() if k != "AWS_DEFAULT_REGION"},
                                        region_name="us-east-1").client("s3", endpoint_url=self.s3_url)
        self.s3.create_bucket(Bucket="blobs")
        self.env = {
            **os.environ,
            **CREDENTIALS,
            "SEQSTORE_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{self.schema}",
            "SEQSTORE_BLOB_URL": "s3://blobs/seqstore",
            "SEQSTORE_S3_ENDPOINT_URL": self.s3_url,
            "SEQSTORE_ACCESS_KEY_ID": "bench",
            "SEQSTORE_SECRET_ACCESS_KEY": "bench-secret",
            "SEQSTORE_MASTER_KEY": "ZmFrZS1iZW5jaC1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=",
        }

    def start(self, command: list[str], name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.processes.append(process)
        return process

    def serve(self, processes: int, auth: str = "sigv4") -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        process = self.start(
            [sys.executable, "-m", "seqstore.cli", "serve", "--port", str(port), "--workers", str(processes),
             "--no-worker", "--auth", auth, "--log-level", "warning", "--data-dir", str(self.root / f"api-{port}")],
            f"api-{port}", self.env,
        )
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        return process, url

    def worker(self, n: int) -> subprocess.Popen[bytes]:
        return self.start(
            [sys.executable, "-m", "seqstore.cli", "worker", "--concurrency", "1", "--log-level", "warning",
             "--data-dir", str(self.root / f"worker-{n}")],
            f"worker-{n}", self.env,
        )

    @staticmethod
    def stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)

    def close(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        shutil.rmtree(self.root, ignore_errors=True)


def omics_client(url: str) -> Any:
    os.environ.update({"AWS_ENDPOINT_URL_OMICS": url, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true", **CREDENTIALS})
    return boto3.session.Session().client("omics")


def metadata_rps(d: Deployment, seconds: int, rounds: int) -> dict[int, list[float]]:
    results: dict[int, list[float]] = {1: [], 2: []}
    servers = {n: d.serve(n, auth="none") for n in (1, 2)}
    store_id = api.call(servers[1][1], "POST", "/sequencestore", {"name": "bench"})["id"]
    for _ in range(rounds):
        for n, (_, url) in servers.items():
            results[n].append(api.run_wrk(f"{url}/sequencestore/{store_id}", seconds, 16)["rps"])
    for process, _ in servers.values():
        d.stop(process)
    return results


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants so far (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            used[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    total, family = 0.0, {pid}
    for candidate in sorted(parents):  # children have larger pids than their parents here
        if candidate in family or parents[candidate] in family:
            family.add(candidate)
            total += used.get(candidate, 0.0)
    return total


def upload_throughput(d: Deployment, path: Path, rounds: int) -> dict[str, float]:
    """Medians over `rounds` alternating uploads: boto3's upload_file to the S3 server, then
    TransferManager.upload_read_set to seqstore (the server has no job threads, so ingestion
    does not run beside the next round). Also the CPU seconds each process spent on an upload:
    this process (the client), the S3 server, and seqstore."""
    from omics.transfer.manager import TransferManager

    server, url = d.serve(1)
    moto = d.processes[0].pid
    omics = omics_client(url)
    store_id = omics.create_sequence_store(name="bench-upload")["id"]
    samples: dict[str, list[float]] = {key: [] for key in (
        "floor", "seqstore", "floor client", "floor s3", "seqstore client", "seqstore s3", "seqstore server")}

    def measure(kind: str, upload: Callable[[], object]) -> None:
        client, s3, api = time.process_time(), cpu_seconds(moto), cpu_seconds(server.pid)
        started = time.perf_counter()
        upload()
        samples[kind].append(time.perf_counter() - started)
        samples[f"{kind} client"].append(time.process_time() - client)
        samples[f"{kind} s3"].append(cpu_seconds(moto) - s3)
        if kind == "seqstore":
            samples["seqstore server"].append(cpu_seconds(server.pid) - api)

    for n in range(rounds):
        measure("floor", lambda n=n: d.s3.upload_file(str(path), "blobs", f"floor/{n}.fastq.gz"))
        measure("seqstore", lambda n=n: TransferManager(omics).upload_read_set(
            str(path), store_id, "FASTQ", f"upload-{n}", "subject", "sample"))
    d.stop(server)
    return {key: statistics.median(values) for key, values in samples.items()}


def import_time(d: Deployment, workers: int, sources: int, jobs: int, r1: Path, r2: Path) -> float:
    server, url = d.serve(1)
    omics = omics_client(url)
    store_id = omics.create_sequence_store(name=f"bench-import-{workers}")["id"]
    running = [d.worker(n) for n in range(workers)]
    pairs = [
        {"sourceFiles": {"source1": f"s3://sources/sample{i}_R1.fastq.gz", "source2": f"s3://sources/sample{i}_R2.fastq.gz"},
         "sourceFileType": "FASTQ", "subjectId": f"subject{i}", "sampleId": f"sample{i}", "name": f"sample{i}"}
        for i in range(sources)
    ]
    started = time.perf_counter()
    job_ids = [
        omics.start_read_set_import_job(
            sequenceStoreId=store_id, roleArn="arn:aws:iam::123456789012:role/bench", sources=pairs[j::jobs]
        )["id"]
        for j in range(jobs)
    ]
    for job_id in job_ids:
        while (got := omics.get_read_set_import_job(sequenceStoreId=store_id, id=job_id))["status"] in (
            "SUBMITTED", "IN_PROGRESS"
        ):
            time.sleep(0.1)
        if got["status"] != "COMPLETED":
            raise SystemExit(f"import ended {got['status']}: {[s.get('statusMessage') for s in got['sources']]}")
    elapsed = time.perf_counter() - started
    for process in running + [server]:
        d.stop(process)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--upload-pairs", type=int, default=1_000_000, help="read pairs of the uploaded FASTQ")
    parser.add_argument("--import-pairs", type=int, default=250_000, help="read pairs in each imported FASTQ pair")
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--upload-copies", type=int, default=1,
        help="upload N gzip members of the R1 file in one (N x 70 MB: several 100 MiB parts sent in parallel)",
    )
    parser.add_argument("--only", choices=["api", "upload", "import"], help="run one of the three measurements")
    args = parser.parse_args()
    generate = load("ingest").generate
    _, upload_r1, _, _ = generate(args.upload_pairs)
    _, r1, r2, _ = generate(args.import_pairs)
    cores = os.cpu_count() or 1

    d = Deployment()
    print(f"\n{cores} cores; PostgreSQL 127.0.0.1:5432 + moto S3 server\n")
    try:
        if args.only in (None, "api"):
            rps = metadata_rps(d, args.seconds, args.rounds)
            one, two = statistics.median(rps[1]), statistics.median(rps[2])
            print(f"GetSequenceStore req/s (wrk, medians of {args.rounds} rounds of {args.seconds} s): "
                  f"1 API process {one:,.0f}, 2 API processes {two:,.0f}: {two / one:.2f}x")
        if args.only in (None, "upload"):
            if args.upload_copies > 1:  # gzip members one after another: still one valid FASTQ.gz
                joined = d.root / "upload.fastq.gz"
                with open(joined, "wb") as out:
                    for _ in range(args.upload_copies):
                        out.write(upload_r1.read_bytes())
                upload_r1 = joined
            up = upload_throughput(d, upload_r1, args.rounds)
            floor_upload, seqstore_upload = up["floor"], up["seqstore"]
            size = upload_r1.stat().st_size / 1e6
            print(f"upload of {size:.0f} MB, medians of {args.rounds} alternating rounds: boto3 upload_file to the S3 server {floor_upload:.2f} s "
                  f"({size / floor_upload:.0f} MB/s); TransferManager.upload_read_set to seqstore "
                  f"{seqstore_upload:.2f} s ({size / seqstore_upload:.0f} MB/s): "
                  f"{floor_upload / seqstore_upload:.2f}x of the floor's throughput")
            print(f"  CPU seconds an upload (medians): floor: client {up['floor client']:.2f}, S3 server "
                  f"{up['floor s3']:.2f}; seqstore path: client {up['seqstore client']:.2f}, seqstore "
                  f"{up['seqstore server']:.2f}, S3 server {up['seqstore s3']:.2f}")
        if args.only in (None, "import"):
            d.s3.create_bucket(Bucket="sources")
            for i in range(args.sources):
                d.s3.upload_file(str(r1), "sources", f"sample{i}_R1.fastq.gz")
                d.s3.upload_file(str(r2), "sources", f"sample{i}_R2.fastq.gz")
            floor = sum(timed(f"gzip -dc {path} | md5sum") for path in (r1, r2)) * args.sources / cores
            imports = {n: import_time(d, n, args.sources, args.jobs, r1, r2) for n in (1, 2)}
            print(f"import of {args.sources} FASTQ.gz pairs in {args.jobs} job(s): floor (sum of per-file "
                  f"`gzip -dc | md5sum` / {cores} cores) {floor:.2f} s; 1 worker {imports[1]:.2f} s "
                  f"({imports[1] / floor:.2f}x), 2 workers {imports[2]:.2f} s ({imports[2] / floor:.2f}x): "
                  f"{imports[1] / imports[2]:.2f}x faster with 2")
    finally:
        d.close()


if __name__ == "__main__":
    main()

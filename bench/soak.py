"""A soak test: a mixed load on one server for minutes, with its job worker SIGKILLed and started
again every minute, then the checks a lab cares about after a long week.

    .venv/bin/python bench/soak.py --minutes 10

`seqstore serve --concurrency 0` answers the API; a separate `seqstore worker` runs the jobs
(ingestion, imports, deletes) and is killed with SIGKILL every `--kill-every` seconds, then
started again. Meanwhile threads, each with its own boto3 clients, keep up: direct uploads of
paired FASTQ, GetReadSetMetadata polls and ListReadSets pages, imports of two sources, deletes
(BatchDeleteReadSet), GetReadSet downloads and ranged S3 GetObjects of the s3Uri. At the end
the load stops and the bench checks, printing a line each and exiting 1 if one fails:

- no job stuck: every import job final and every read set out of PROCESSING_UPLOAD within
  `--settle` seconds of the load stopping;
- nothing lost: every read set the load saw ACTIVE (and did not delete) is ACTIVE, and
  `seqstore verify` passes on the whole data dir;
- the API server's RSS grew < 10% from the end of the warm-up (the first fifth) to the end, and
  its open file descriptors are flat (median of the last samples within 10 of the warm-up's);
- p50 and p99 latency per operation, with the count and the errors (errors fail the run).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from benchlib import free_port, wait_healthy
from botocore.config import Config

KEY, SECRET = "soak", "soak-secret"
ROLE = "arn:aws:iam::123456789012:role/soak"
READS = 4000  # per source of each upload and import: ~150 KB of gzip, a second of work at most


def fastq(seed: int, mate: int) -> bytes:
    rng = random.Random(seed)
    lines = []
    for i in range(READS):
        sequence = "".join(rng.choice("ACGT") for _ in range(100))
        lines.append(f"@r{seed}.{i}/{mate}\n{sequence}\n+\n{'I' * 100}\n")
    return gzip.compress("".join(lines).encode(), compresslevel=1)


class Recorder:
    """Latencies and errors per operation, from every load thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    @contextlib.contextmanager
    def timed(self, operation: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - every failure is counted and shown at the end
            with self.lock:
                self.errors[operation].append(f"{type(exc).__name__}: {exc}"[:300])
            return
        with self.lock:
            self.latencies[operation].append((time.perf_counter() - began) * 1000)


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="seqstore-soak-"))
        self.data_dir = self.work / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        os.environ.update({  # this process's boto3 clients, configured as users do
            "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_OMICS": self.url, "AWS_ENDPOINT_URL_S3": self.url,
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        })  # fmt: skip
        self.env = {
            **os.environ, "SEQSTORE_ACCESS_KEY_ID": KEY, "SEQSTORE_SECRET_ACCESS_KEY": SECRET,
            "SEQSTORE_BUCKETS_DIR": str(self.work / "buckets"), "SEQSTORE_JOB_LEASE_SECONDS": "15",
        }  # fmt: skip
        self.recorder = Recorder()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.active: set[str] = set()  # read sets seen ACTIVE and not deleted
        self.pending: set[str] = set()  # read sets uploaded or imported, not yet seen ACTIVE
        self.deleted: set[str] = set()
        self.jobs: list[str] = []
        self.kills = 0
        self.samples: list[tuple[float, int, int]] = []  # (seconds, RSS kB, open fds) of the API server

    # --- processes

    def command(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with open(self.work / log, "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "seqstore.cli", *args, "--data-dir", str(self.data_dir),
                 "--log-level", "warning"], env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def worker(self) -> subprocess.Popen[bytes]:
        return self.command("worker", "--concurrency", "2", log="worker.log")

    # --- the load

    def client(self, service: str) -> Any:
        config = Config(retries={"max_attempts": 8, "mode": "standard"}, signature_version="s3v4")
        return boto3.session.Session().client(service, config=config)

    def loop(self, pause: float, step: Callable[[random.Random], None], seed: int) -> Callable[[], None]:
        def run() -> None:
            rng = random.Random(seed)
            while not self.stop.is_set():
                step(rng)
                self.stop.wait(pause)

        return run

    def pick(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(sorted(self.active)) if self.active else None

    def uploader(self, store_id: str) -> Callable[[random.Random], None]:
        omics = self.client("omics")

        def step(rng: random.Random) -> None:
            seed = rng.randrange(1 << 30)
            with self.recorder.timed("upload (create, 2 parts, complete)"):
                upload = omics.create_multipart_read_set_upload(
                    sequenceStoreId=store_id, sourceFileType="FASTQ", subjectId="s", sampleId="s", name=f"u{seed}")
                parts = []
                for source, mate in (("SOURCE1", 1), ("SOURCE2", 2)):
                    answer = omics.upload_read_set_part(
                        sequenceStoreId=store_id, uploadId=upload["uploadId"], partSource=source, partNumber=1,
                        payload=fastq(seed, mate))
                    parts.append({"partNumber": 1, "partSource": source, "checksum": answer["checksum"]})
                done = omics.complete_multipart_read_set_upload(
                    sequenceStoreId=store_id, uploadId=upload["uploadId"], parts=parts)
                with self.lock:
                    self.pending.add(done["readSetId"])  # fmt: skip

        return step

    def poller(self, store_id: str) -> Callable[[random.Random], None]:
        omics = self.client("omics")

        def step(rng: random.Random) -> None:
            with self.lock:
                waiting = sorted(self.pending)
            for read_set_id in waiting[:20]:
                with self.recorder.timed("GetReadSetMetadata"):
                    status = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)["status"]
                    if status == "ACTIVE":
                        with self.lock:
                            self.pending.discard(read_set_id)
                            self.active.add(read_set_id)
                    elif status != "PROCESSING_UPLOAD":
                        raise RuntimeError(f"read set {read_set_id} ended {status}")
            with self.recorder.timed("ListReadSets (100)"):
                omics.list_read_sets(sequenceStoreId=store_id, maxResults=100)

        return step

    def importer(self, store_id: str) -> Callable[[random.Random], None]:
        omics = self.client("omics")

        def step(rng: random.Random) -> None:
            with self.recorder.timed("StartReadSetImportJob (2 pairs)"):
                sources = [{"sourceFiles": {"source1": f"s3://soak/{n}_1.fq.gz", "source2": f"s3://soak/{n}_2.fq.gz"},
                            "sourceFileType": "FASTQ", "subjectId": "s", "sampleId": "s", "name": f"import{n}"}
                           for n in rng.sample(range(8), 2)]  # fmt: skip
                job = omics.start_read_set_import_job(sequenceStoreId=store_id, roleArn=ROLE, sources=sources)
                with self.lock:
                    self.jobs.append(job["id"])

        return step

    def deleter(self, store_id: str) -> Callable[[random.Random], None]:
        omics = self.client("omics")

        def step(rng: random.Random) -> None:
            with self.lock:
                if len(self.active) < 20:
                    return
                victim = rng.choice(sorted(self.active))
                self.active.discard(victim)  # no reader picks it from now on
                self.deleted.add(victim)
            time.sleep(0.5)  # let reads that picked it before finish
            with self.recorder.timed("BatchDeleteReadSet"):
                errors = omics.batch_delete_read_set(sequenceStoreId=store_id, ids=[victim]).get("errors")
                if errors:
                    raise RuntimeError(str(errors))

        return step

    def reader(self, store_id: str) -> Callable[[random.Random], None]:
        omics, s3 = self.client("omics"), self.client("s3")

        def step(rng: random.Random) -> None:
            read_set_id = self.pick(rng)
            if read_set_id is None:
                return
            with self.recorder.timed("GetReadSet (part 1)"):
                omics.get_read_set(sequenceStoreId=store_id, id=read_set_id, partNumber=1)["payload"].read()
            with self.recorder.timed("S3 GetObject (64 KiB range)"):
                metadata = omics.get_read_set_metadata(sequenceStoreId=store_id, id=read_set_id)
                bucket, key = metadata["files"]["source1"]["s3Access"]["s3Uri"].removeprefix("s3://").split("/", 1)
                s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-65535")["Body"].read()

        return step

    # --- the run

    def sample(self, pid: int, started: float) -> None:
        rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS:"))  # fmt: skip
        self.samples.append((time.monotonic() - started, rss, len(os.listdir(f"/proc/{pid}/fd"))))

    def run(self) -> int:
        args = self.args
        (self.work / "buckets" / "soak").mkdir(parents=True)
        for n in range(8):
            for mate in (1, 2):
                (self.work / "buckets" / "soak" / f"{n}_{mate}.fq.gz").write_bytes(fastq(10_000 + n, mate))
        server = self.command("serve", "--port", str(self.port), "--concurrency", "0", log="serve.log")
        worker = self.worker()
        try:
            wait_healthy(self.url, process=server)
            store_id = self.client("omics").create_sequence_store(name="soak")["id"]
            load = [
                self.loop(0.2, self.uploader(store_id), 1), self.loop(0.5, self.poller(store_id), 2),
                self.loop(10, self.importer(store_id), 3), self.loop(3, self.deleter(store_id), 4),
                self.loop(0.1, self.reader(store_id), 5), self.loop(0.1, self.reader(store_id), 6),
            ]  # fmt: skip
            threads = [threading.Thread(target=target, daemon=True) for target in load]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            deadline, next_kill = started + args.minutes * 60, started + args.kill_every
            while time.monotonic() < deadline:
                time.sleep(5)
                self.sample(server.pid, started)
                if time.monotonic() >= next_kill:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    worker = self.worker()
                    self.kills += 1
                    next_kill += args.kill_every
            self.stop.set()
            for thread in threads:
                thread.join(60)
            return self.report(store_id, server.pid)
        finally:
            for process in (worker, server):
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(30)
            if not args.keep:
                shutil.rmtree(self.work, ignore_errors=True)

    def report(self, store_id: str, pid: int) -> int:
        omics = self.client("omics")
        failures = []
        settle = time.monotonic() + self.args.settle
        stuck: list[str] = []
        while time.monotonic() < settle:
            stuck = [j for j in self.jobs if omics.get_read_set_import_job(sequenceStoreId=store_id, id=j)["status"]
                     in ("SUBMITTED", "IN_PROGRESS")]  # fmt: skip
            stuck += [r for r in sorted(self.pending)
                      if omics.get_read_set_metadata(sequenceStoreId=store_id, id=r)["status"] == "PROCESSING_UPLOAD"]
            if not stuck:
                break
            time.sleep(2)
        print(f"\nsoak: {self.args.minutes} min, worker SIGKILLed {self.kills} times; "
              f"{len(self.jobs)} import jobs, {len(self.active)} read sets ACTIVE, {len(self.deleted)} deleted")  # fmt: skip
        print(f"{'no job or upload stuck':48} {'ok' if not stuck else f'FAILED: {stuck[:5]}'}")
        if stuck:
            failures.append("stuck")
        lost = [r for r in sorted(self.active)
                if omics.get_read_set_metadata(sequenceStoreId=store_id, id=r)["status"] != "ACTIVE"]  # fmt: skip
        verify = subprocess.run([sys.executable, "-m", "seqstore.cli", "verify", "--data-dir", str(self.data_dir)],
                                env=self.env, capture_output=True, text=True)  # fmt: skip
        summary = verify.stdout.strip().splitlines()[-1:] or [verify.stderr.strip()[-200:]]
        print(f"{'nothing lost (ACTIVE stays ACTIVE; verify)':48} "
              f"{'ok' if not lost and verify.returncode == 0 else 'FAILED'}: {lost[:5]} {summary[0]}")  # fmt: skip
        if lost or verify.returncode != 0:
            failures.append("lost")
        warm = [s for s in self.samples if s[0] >= self.args.minutes * 12]  # after the first fifth
        if len(warm) >= 4:
            first, last = warm[: len(warm) // 4], warm[-(len(warm) // 4) :]
            rss0, rss1 = statistics.median(s[1] for s in first), statistics.median(s[1] for s in last)
            fd0, fd1 = statistics.median(s[2] for s in first), statistics.median(s[2] for s in last)
            growth = rss1 / rss0 - 1
            print(f"{'API server RSS after warm-up (MB)':48} {rss0 / 1024:.0f} -> {rss1 / 1024:.0f} "
                  f"({growth:+.1%}) {'ok' if growth < 0.10 else 'FAILED'}")  # fmt: skip
            print(f"{'API server open fds':48} {fd0:.0f} -> {fd1:.0f} {'ok' if fd1 - fd0 <= 10 else 'FAILED'}")
            if growth >= 0.10 or fd1 - fd0 > 10:
                failures.append("resources")
        print(f"\n{'operation':40} {'count':>7} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}")
        for operation in sorted(set(self.recorder.latencies) | set(self.recorder.errors)):
            values = sorted(self.recorder.latencies.get(operation, [])) or [float("nan")]
            errors = self.recorder.errors.get(operation, [])
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            print(f"{operation:40} {len(values):7} {len(errors):6} {statistics.median(values):8.1f} {p99:8.1f}")
            for error in errors[:3]:
                print(f"    {error}")
            if errors:
                failures.append(operation)
        print(f"\n{'PASSED' if not failures else 'FAILED: ' + ', '.join(failures)}")
        return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--kill-every", type=float, default=60, help="seconds between worker SIGKILLs")
    parser.add_argument("--settle", type=float, default=120, help="seconds the jobs get to finish after the load")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    sys.exit(Soak(parser.parse_args()).run())


if __name__ == "__main__":
    main()

"""htsget region reads beside their floor, in one run.

Uses bench/ingest.py's cached data (a coordinate-sorted BAM of N reads on one synthetic contig of
~100 Mbp); starts `seqstore serve`, imports the genome, uploads the BAM, makes a bearer token, and
measures for a 1 Mbp region in the middle of the contig:

- the floor: `samtools view -b local.bam REGION` on the same file with its index, on local disk;
- seqstore end to end: ticket + transfer with the `htsget` Python client, and with samtools
  reading the htsget URL itself (htslib follows the ticket);
- the ticket alone: p50 and p99 of GET /htsget/reads/... over one keep-alive connection.

    .venv/bin/python bench/htsget_regions.py --pairs 2000000
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time

import htsget
import pysam
import requests
from served import served_bam


def best_of(runs: int, action) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=4_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tickets", type=int, default=300)
    args = parser.parse_args()
    with served_bam(args.pairs) as served:
        url, data_dir, work, fasta, bam = served.url, served.data_dir, served.work, served.fasta, served.bam
        store_id, meta = served.store_id, served.metadata
        local = work / "local.bam"
        os.link(bam, local)
        pysam.index(str(local))
        length = pysam.FastaFile(str(fasta)).get_reference_length("chrS")
        middle = length // 2
        region = ("chrS", middle, middle + 1_000_000)  # 0-based, end exclusive
        token = subprocess.run(
            [sys.executable, "-m", "seqstore.cli", "keys", "token", "--data-dir", str(data_dir)],
            capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        ticket_url = f"{url}/htsget/reads/{store_id}/{meta['id']}"
        samtools_region = f"{region[0]}:{region[1] + 1}-{region[2]}"

        floor = best_of(args.runs, lambda: subprocess.run(
            ["samtools", "view", "-b", "-o", "/dev/null", str(local), samtools_region], check=True))  # fmt: skip

        def client() -> None:
            htsget.get(ticket_url, io.BytesIO(), reference_name=region[0], start=region[1], end=region[2],
                       bearer_token=token)  # fmt: skip

        seqstore_client = best_of(args.runs, client)
        auth = work / "token"
        auth.write_text(token)
        hts_env = {**os.environ, "HTS_AUTH_LOCATION": str(auth),
                   "HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER": "I understand the risks"}  # fmt: skip
        query = f"{ticket_url}?referenceName={region[0]}&start={region[1]}&end={region[2]}"
        seqstore_samtools = best_of(args.runs, lambda: subprocess.run(
            ["samtools", "view", "-b", "-o", "/dev/null", query], check=True, env=hts_env))  # fmt: skip
        count = len(pysam.view(str(local), samtools_region).splitlines())

        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        params = {"referenceName": region[0], "start": region[1], "end": region[2]}
        latencies = []
        for _ in range(args.tickets):
            started = time.perf_counter()
            response = session.get(ticket_url, params=params, headers=headers, timeout=10)
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"\n{args.pairs} reads, BAM {bam.stat().st_size / 1e6:.0f} MB; region {samtools_region} "
              f"({count} records); best of {args.runs}; 2 cores\n")  # fmt: skip
        print(f"{'work':52} {'seconds':>8} {'ratio':>7}")
        print(f"{'floor: samtools view -b local.bam REGION':52} {floor:8.3f}")
        print(f"{'seqstore htsget, Python client (ticket + data)':52} {seqstore_client:8.3f} {seqstore_client / floor:6.2f}x")
        print(f"{'seqstore htsget, samtools view -b URL':52} {seqstore_samtools:8.3f} {seqstore_samtools / floor:6.2f}x")
        print(f"{'ticket alone: p50 / p99 ms':52} {p50:8.2f} / {p99:.2f}")


if __name__ == "__main__":
    main()

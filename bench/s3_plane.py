"""Reads through the S3 plane beside their floors, in one run.

Serves bench/ingest.py's cached BAM as an ACTIVE read set (bench/served.py) and reads it through
a presigned URL of its s3Uri, the way a collaborator's curl or htslib would:

- the whole object with curl, beside the same bytes sent by the kernel (sendfile) from a bare
  HTTP server to the same client;
- 1,000 random 64 KiB ranged GETs on one keep-alive connection (what htslib does on a region
  query), p50 and p99, beside the same ranges from a bare ranged sendfile server.

    .venv/bin/python bench/s3_plane.py --pairs 2000000
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import subprocess
import time
from urllib.parse import urlsplit

import boto3
from benchlib import RangedSendfileServer, SendfileServer
from botocore.config import Config
from served import KEY, SECRET, served_bam

RANGE = 64 * 1024


def curl_seconds(url: str, expected: int, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        size, seconds = subprocess.run(
            ["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert int(size) == expected, (size, expected)
        best = min(best, float(seconds))
    return best


def ranged_latencies(url: str, size: int, count: int, seed: int) -> list[float]:
    """Milliseconds of `count` random RANGE-byte GETs of `url` on one keep-alive connection."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    rng = random.Random(seed)
    latencies = []
    for _ in range(count):
        start = rng.randrange(0, size - RANGE)
        began = time.perf_counter()
        connection.request("GET", path, headers={"Range": f"bytes={start}-{start + RANGE - 1}"})
        response = connection.getresponse()
        body = response.read()
        latencies.append((time.perf_counter() - began) * 1000)
        assert response.status == 206 and len(body) == RANGE, (response.status, len(body))
    connection.close()
    return sorted(latencies)


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=4_000_000)
    parser.add_argument("--ranges", type=int, default=1000)
    args = parser.parse_args()
    with served_bam(args.pairs) as served:
        source = served.metadata["files"]["source1"]
        size = source["contentLength"]
        bucket, key = source["s3Access"]["s3Uri"].removeprefix("s3://").split("/", 1)
        s3 = boto3.client("s3", endpoint_url=served.url, region_name="us-east-1", aws_access_key_id=KEY,
                          aws_secret_access_key=SECRET, config=Config(signature_version="s3v4"))  # fmt: skip
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
        whole = curl_seconds(url, size)
        with SendfileServer(str(served.bam), size) as floor_server:
            floor_whole = curl_seconds(floor_server.url, size)
        plane = ranged_latencies(url, size, args.ranges, seed=3)
        with RangedSendfileServer(str(served.bam), size) as floor_server:
            floor = ranged_latencies(floor_server.url, size, args.ranges, seed=3)
        print(f"\nBAM of {args.pairs} reads, {size / 1e6:.0f} MB, through a presigned URL; 2 cores\n")
        print(f"{'work':56} {'value':>12} {'ratio':>8}")
        mbs, floor_mbs = size / whole / 1e6, size / floor_whole / 1e6
        print(f"{'whole object, curl: seqstore S3 plane (MB/s)':56} {mbs:12.0f} {mbs / floor_mbs:7.2f}x")
        print(f"{'whole object, curl: sendfile floor (MB/s)':56} {floor_mbs:12.0f}")
        for label, share in (("p50", 0.5), ("p99", 0.99)):
            ours, base = percentile(plane, share), percentile(floor, share)
            print(f"{f'{args.ranges} x 64 KiB ranged GETs, {label} ms (floor {base:.3f})':56} {ours:12.3f} {ours / base:7.2f}x")
        print(f"{'ranged GETs, mean ms: plane / floor':56} {statistics.mean(plane):12.3f} "
              f"{statistics.mean(plane) / statistics.mean(floor):7.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()

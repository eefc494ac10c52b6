"""Metadata API throughput and latency beside the framework floor, in one run.

Starts `seqstore serve` on a temporary data dir, creates sequence stores, then drives
GetSequenceStore, ListSequenceStores and the trivial `/_seqstore/health` endpoint of the same
server with `wrk` (concurrent keep-alive HTTP clients written in C, so the client does not eat the
server's CPU the way a Python client would). Prints requests/s, p50 and p99 for each and the
ratio of each operation's requests/s to the floor's.

    apt-get install wrk        # once
    .venv/bin/python bench/api_latency.py [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

LIST_SCRIPT = """
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_seqstore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def call(url: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = to_ms(re.search(r"50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"{non_2xx.group(1)} error responses from {url}")
    return {"rps": rps, "p50": p50, "p99": p99}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stores", type=int, default=50, help="sequence stores to create first")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    data_dir = Path(tempfile.mkdtemp(prefix="seqstore-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "seqstore.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--log-level", "warning", "--no-worker"],
        stdout=subprocess.DEVNULL, env={**os.environ},
    )
    try:
        wait_healthy(url)
        store_ids = [call(url, "POST", "/sequencestore", {"name": f"bench-{i}"})["id"] for i in range(args.stores)]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LIST_SCRIPT)
        results = {
            "floor: GET /_seqstore/health": run_wrk(f"{url}/_seqstore/health", args.seconds, args.connections),
            "GetSequenceStore": run_wrk(f"{url}/sequencestore/{store_ids[0]}", args.seconds, args.connections),
            "ListSequenceStores (50 per page)": run_wrk(
                f"{url}/sequencestores?maxResults=50", args.seconds, args.connections, Path(script.name)
            ),
        }
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
    floor = results["floor: GET /_seqstore/health"]["rps"]
    print(f"{args.connections} connections, {args.seconds} s each, {os.cpu_count()} cores\n")
    print(f"{'endpoint':36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'floor/op':>9}")
    for name, r in results.items():
        print(f"{name:36} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {floor / r['rps']:9.2f}x")


if __name__ == "__main__":
    main()

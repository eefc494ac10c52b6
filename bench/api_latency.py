"""Metadata API throughput and latency beside the framework floor, in one run.

Starts `seqstore serve` on a temporary data dir, creates sequence stores and a read set, then
drives GetSequenceStore, ListSequenceStores, GetReadSetMetadata and the trivial
`/_seqstore/health` endpoint of the same server with `wrk` (concurrent keep-alive HTTP clients
written in C, so the client does not eat the server's CPU the way a Python client would): with `--auth none` and with signature verification
on. Both receive the same signed requests (wrk replays one pre-signed request: a SigV4 signature
is valid for 15 minutes), as boto3 signs whatever the server does with the signature, so the
difference between them is the verification alone.
Prints requests/s, p50 and p99 for each, the ratio of the floor's requests/s to each
operation's, and what signature verification costs.

    apt-get install wrk        # once
    .venv/bin/python bench/api_latency.py [--seconds 10] [--connections 16]
    .venv/bin/python bench/api_latency.py --postgres   # both servers on the local PostgreSQL
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

from benchlib import DEFAULT_POSTGRES_URL, free_port, libpq, wait_healthy, with_schema


def call(url: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise SystemExit(f"cannot read a wrk latency: {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    url: str, seconds: int, connections: int, script: Path | None = None, headers: dict[str, str] | None = None
) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    if not re.search(r"99%\s+[\d.]+(us|ms|s|m)\n", output) or "Requests/sec" not in output:
        raise SystemExit(f"wrk gave no figures for {url}:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)$", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)$", output, re.M).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"{non_2xx.group(1)} error responses from {url}")
    return {"rps": rps, "p50": p50, "p99": p99}


def signed_headers(url: str, method: str, body: bytes = b"") -> dict[str, str]:
    """SigV4 headers for one request (valid for 15 minutes, so wrk can replay them)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {"Content-Type": "application/json"} if body else {}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(KEY_ID, SECRET), "omics", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def start_server(
    data_dir: Path, port: int, auth: str, cache: bool = True, database_url: str | None = None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SEQSTORE_ACCESS_KEY_ID": KEY_ID, "SEQSTORE_SECRET_ACCESS_KEY": SECRET,
           "SEQSTORE_RESPONSE_CACHE": "1" if cache else "0"}
    if database_url:
        env["SEQSTORE_DATABASE_URL"] = database_url
    server = subprocess.Popen(
        [sys.executable, "-m", "seqstore.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--log-level", "warning", "--no-worker", "--auth", auth],
        stdout=subprocess.DEVNULL, env=env,
    )
    wait_healthy(f"http://127.0.0.1:{port}")
    return server


def add_read_set(data_dir: Path, database_url: str | None, store_id: str) -> str:
    """One ACTIVE read set in the store (a paired FASTQ's metadata, written through the service
    layer as bench/scale.py writes them; its files are not stored: only its metadata is read)."""
    from scale import synthetic_active, synthetic_source

    from seqstore.config import Settings
    from seqstore.server import build_domain
    from seqstore.store.bulk import insert_active_many

    ctx = build_domain(Settings(data_dir=data_dir, database_url=database_url))
    try:
        with ctx.db.write() as connection:
            store = ctx.sequence_stores.require(connection, store_id)
            prefix = f"{ctx.settings.account_id}/sequenceStore/{store_id}/readSet"
            item = synthetic_active(0, synthetic_source(0, ""), prefix)
            return insert_active_many(connection, ctx.arns, ctx.settings.part_size, store, [item])[0]
    finally:
        ctx.db.dispose()


def measure(
    url: str, store_id: str, read_set_id: str, seconds: int, connections: int, sign: bool
) -> dict[str, dict[str, float]]:
    get_url = f"{url}/sequencestore/{store_id}"
    meta_url = f"{url}/sequencestore/{store_id}/readset/{read_set_id}/metadata"
    list_url = f"{url}/sequencestores?maxResults=50"
    get_headers = signed_headers(get_url, "GET") if sign else {}
    meta_headers = signed_headers(meta_url, "GET") if sign else {}
    list_headers = signed_headers(list_url, "POST", b"{}") if sign else {"Content-Type": "application/json"}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "POST"\nwrk.body = "{}"\n')
        for name, value in list_headers.items():
            script.write(f'wrk.headers["{name}"] = "{value}"\n')
    return {
        "health": run_wrk(f"{url}/_seqstore/health", seconds, connections),
        "get": run_wrk(get_url, seconds, connections, headers=get_headers),
        "list": run_wrk(list_url, seconds, connections, Path(script.name)),
        "meta": run_wrk(meta_url, seconds, connections, headers=meta_headers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stores", type=int, default=50, help="sequence stores to create first")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument(
        "--control", action="store_true",
        help="A/A check: run the second server with --auth none too, so its 'cost' shows the noise",
    )
    parser.add_argument(
        "--no-cache", action="store_true",
        help="run both servers with SEQSTORE_RESPONSE_CACHE=0: every read is answered from the database",
    )
    parser.add_argument(
        "--postgres", nargs="?", const=DEFAULT_POSTGRES_URL, metavar="URL",
        help=f"run both servers on PostgreSQL (a schema of their own; default {DEFAULT_POSTGRES_URL}), "
             "where there is no response cache",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    # Both servers run at once on the same data dir and are measured in alternation, `--rounds`
    # times, so that drift on a shared machine hits both alike; the medians are reported.
    data_dir = Path(tempfile.mkdtemp(prefix="seqstore-bench-"))
    ports = {"none": free_port(), "sigv4": free_port()}
    servers = []
    rounds: dict[str, list[dict[str, dict[str, float]]]] = {"none": [], "sigv4": []}
    schema = f"seqstore_api_latency_{uuid.uuid4().hex[:12]}"
    database_url = with_schema(args.postgres, schema) if args.postgres else None
    if args.postgres:
        import psycopg

        with psycopg.connect(libpq(args.postgres), autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        cache = not args.no_cache
        servers.append(start_server(data_dir, ports["none"], "none", cache, database_url))
        servers.append(
            start_server(data_dir, ports["sigv4"], "none" if args.control else "sigv4", cache, database_url)
        )
        url = f"http://127.0.0.1:{ports['none']}"
        store_ids = [call(url, "POST", "/sequencestore", {"name": f"bench-{i}"})["id"] for i in range(args.stores)]
        read_set_id = add_read_set(data_dir, database_url, store_ids[0])
        for _ in range(args.rounds):
            for auth in ("none", "sigv4"):
                rounds[auth].append(measure(f"http://127.0.0.1:{ports[auth]}", store_ids[0], read_set_id,
                                            args.seconds, args.connections, sign=True))
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            with psycopg.connect(libpq(args.postgres), autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    results = {
        auth: {
            key: {stat: statistics.median(r[key][stat] for r in runs) for stat in ("rps", "p50", "p99")}
            for key in ("health", "get", "list", "meta")
        }
        for auth, runs in rounds.items()
    }

    print(f"{args.connections} connections, {args.seconds} s each, medians of {args.rounds} alternating rounds, "
          f"{os.cpu_count()} cores; wrk on the same machine; response cache "
          f"{'off' if args.no_cache or args.postgres else 'on'}; "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}\n")
    print(f"{'auth':6} {'endpoint':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'floor/op':>9}")
    names = {"health": "floor: GET /_seqstore/health", "get": "GetSequenceStore",
             "list": "ListSequenceStores (50 per page)", "meta": "GetReadSetMetadata"}
    for auth, rows in results.items():
        floor = rows["health"]["rps"]
        for key, r in rows.items():
            print(f"{auth:6} {names[key]:34} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {floor / r['rps']:9.2f}x")
    for key in ("get", "list", "meta"):
        cost = results["none"][key]["rps"] / results["sigv4"][key]["rps"] - 1
        print(f"signature verification costs {names[key]} {cost * 100:.0f}% of its requests/s")


KEY_ID, SECRET = "bench", "bench-secret"


if __name__ == "__main__":
    main()

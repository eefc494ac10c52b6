"""The request path's own cost, in-process: the ASGI app called directly (no server, no socket)
for the health check, a cached GetSequenceStore and a cached ListSequenceStores, with `--auth
none`. Prints the best per-request time in µs of `--repeat` runs of `--calls` calls each, as
one JSON line. Compare two trees by running it under each (`PYTHONPATH=/other/tree`), in
alternation: the machine's load moves the figures more than small changes do.

    .venv/bin/python bench/dispatch_overhead.py [--calls 4000] [--repeat 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from typing import Any


async def measure(app: Any, paths: dict[str, tuple[str, str]], calls: int, repeat: int) -> dict[str, float]:
    message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(_: dict[str, Any]) -> None:
        pass

    best: dict[str, float] = {}
    for label, (method, path) in paths.items():
        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
                 "query_string": b"", "headers": [(b"host", b"localhost")]}
        for _ in range(calls // 2):  # warm: the route and the cache
            await app(scope, receive, send)
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(calls):
                await app(scope, receive, send)
            runs.append((time.perf_counter() - start) / calls * 1e6)
        best[label] = round(min(runs), 2)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()
    os.environ.update({"SEQSTORE_DATA_DIR": tempfile.mkdtemp(prefix="seqstore-dispatch-"), "SEQSTORE_AUTH": "none"})
    from seqstore.api.app import create_app
    from seqstore.config import Settings
    from seqstore.server import build_domain

    store = build_domain(Settings())
    app = create_app(store)
    store_id = store.sequence_stores.create({"name": "bench"})["id"]
    paths = {
        "health": ("GET", "/_seqstore/health"),
        "GetSequenceStore": ("GET", f"/sequencestore/{store_id}"),
        "ListSequenceStores": ("POST", "/sequencestores"),
    }
    result = asyncio.run(measure(app, paths, args.calls, args.repeat))
    print(json.dumps({"seqstore": os.path.dirname(sys.modules["seqstore"].__file__ or ""), **result}))


if __name__ == "__main__":
    main()

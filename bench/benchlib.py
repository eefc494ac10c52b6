"""What every bench script needs: a free port, a timed shell pipeline, waiting for a server.
(Scripts run as `python bench/NAME.py`, so this directory is on sys.path.)"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(command: str) -> float:
    """Seconds a bash pipeline takes (pipefail: any failing stage fails it)."""
    started = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def wait_healthy(
    url: str, path: str = "/_seqstore/health", process: subprocess.Popen[bytes] | None = None, seconds: float = 30
) -> None:
    """Poll `url + path` until it answers 200 (and stop early if `process` exits)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no answer from {url}{path} in {seconds:.0f} s")

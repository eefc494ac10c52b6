"""Request metrics of the omics API in Prometheus' text format (`GET /metrics`): requests by
operation and status, a latency histogram per operation, bytes in and out. Counted at the end of
each request on the event loop (one thread: plain dict updates, no lock); a scrape renders them
with the gauges the caller adds (queue depth, free disk: seqstore/api/app.py)."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import defaultdict
from typing import Any

# Seconds; the last bucket, +Inf, is the count.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RequestMetrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.bytes_in: dict[str, int] = defaultdict(int)
        self.bytes_out: dict[str, int] = defaultdict(int)

    def observe(self, x: Any) -> None:
        """Count a finished request (an Exchange: operation_name, status, bytes, started)."""
        operation = x.operation_name or "unknown"
        seconds = time.perf_counter() - x.started
        self.requests[(operation, x.status or 0)] += 1
        counts = self.buckets.get(operation)
        if counts is None:
            counts = self.buckets[operation] = [0] * (len(BUCKETS) + 1)
        counts[bisect_left(BUCKETS, seconds)] += 1  # per bucket; render() adds them up
        self.latency_sum[operation] += seconds
        if x.bytes_in:
            self.bytes_in[operation] += x.bytes_in
        if x.bytes_out:
            self.bytes_out[operation] += x.bytes_out

    def render(self) -> list[str]:
        lines = [
            "# HELP seqstore_requests_total Requests answered, by operation and HTTP status.",
            "# TYPE seqstore_requests_total counter",
        ]
        for (operation, status), count in sorted(self.requests.items()):
            lines.append(f'seqstore_requests_total{{operation="{operation}",status="{status}"}} {count}')
        lines += [
            "# HELP seqstore_request_duration_seconds Time from a request's arrival to its answer's end.",
            "# TYPE seqstore_request_duration_seconds histogram",
        ]
        for operation, counts in sorted(self.buckets.items()):
            total = 0
            for bound, count in zip((*BUCKETS, "+Inf"), counts, strict=True):
                total += count  # Prometheus' buckets are cumulative
                lines.append(f'seqstore_request_duration_seconds_bucket{{operation="{operation}",le="{bound}"}} {total}')
            lines.append(f'seqstore_request_duration_seconds_sum{{operation="{operation}"}} {self.latency_sum[operation]:.6f}')
            lines.append(f'seqstore_request_duration_seconds_count{{operation="{operation}"}} {total}')
        for name, values, what in (
            ("seqstore_request_bytes_total", self.bytes_in, "Request body bytes received"),
            ("seqstore_response_bytes_total", self.bytes_out, "Response body bytes sent"),
        ):
            lines += [f"# HELP {name} {what}, by operation.", f"# TYPE {name} counter"]
            lines += [f'{name}{{operation="{op}"}} {value}' for op, value in sorted(values.items())]
        return lines


def gauge(name: str, help_text: str, values: dict[tuple[tuple[str, str], ...], float]) -> list[str]:
    """A gauge's lines: `values` by label tuple ((name, value), ...)."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in sorted(values.items()):
        text = ",".join(f'{key}="{val}"' for key, val in labels)
        number = _number(value)
        lines.append(f"{name}{{{text}}} {number}" if text else f"{name} {number}")
    return lines


def _number(value: float) -> str:
    """A sample's value in full (a byte count or a Unix time has more digits than `:g` shows)."""
    if isinstance(value, int) or value.is_integer():
        return str(int(value))
    return repr(float(value))


def counter(name: str, help_text: str, values: dict[tuple[tuple[str, str], ...], float]) -> list[str]:
    """A counter's lines: `values` by label tuple ((name, value), ...)."""
    lines = gauge(name, help_text, values)
    lines[1] = f"# TYPE {name} counter"
    return lines

"""Emulation of the real service's per-operation request rates (docs/behaviour.md, "Request rates"), so that teams can
test their retry logic against the limits they will meet in the cloud (off by default), and the
bound on requests in flight per concurrency class. The rates and the classes are declared with
each operation (`Operation.quota_tps`, `Operation.concurrency`)."""

from __future__ import annotations

import threading
import time

from ..errors import ThrottlingException


def parse_overrides(text: str) -> dict[str, float]:
    """`"GetReadSet=50,ListReadSets=0"` → rates; 0 lifts the limit of that operation."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        try:
            rates[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"quota override {item!r} is not OPERATION=RATE") from None
    return rates


class RateLimiter:
    """Token buckets per (access key, operation): `rate` requests a second, bursts up to `rate`
    (at least 1), as AWS's TPS quotas behave."""

    def __init__(self, rates: dict[str, float]) -> None:
        self.rates = {name: rate for name, rate in rates.items() if rate > 0}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Every bucket full again (testing mode's reset)."""
        with self._lock:
            self._buckets.clear()

    def check(self, access_key_id: str, operation: str) -> None:
        """Take a token, or raise ThrottlingException (HTTP 429) when the bucket is empty."""
        rate = self.rates.get(operation)
        if rate is None:
            return
        capacity = max(rate, 1.0)
        moment = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get((access_key_id, operation), (capacity, moment))
            tokens = min(capacity, tokens + (moment - last) * rate)
            if tokens < 1.0:
                self._buckets[(access_key_id, operation)] = (tokens, moment)
                raise ThrottlingException(
                    f"Rate exceeded: {operation} is limited to {rate:g} requests per second "
                    "(emulated HealthOmics quota; retry with backoff)"
                )
            self._buckets[(access_key_id, operation)] = (tokens - 1.0, moment)


class ConcurrencyLimiter:
    """At most `limit` requests of one concurrency class in flight per access key (streamed
    uploads hold a connection and a blob writer each, so a client must not open thousands)."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = {name: limit for name, limit in limits.items() if limit > 0}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def enter(self, access_key_id: str, concurrency: str, operation: str) -> bool:
        """Count a request of `operation` in its class, or raise ThrottlingException; True when
        it must be counted out (`leave`)."""
        limit = self.limits.get(concurrency)
        if limit is None:
            return False
        with self._lock:
            count = self._in_flight.get((access_key_id, concurrency), 0)
            if count >= limit:
                raise ThrottlingException(
                    f"Too many concurrent {operation} requests for this access key (at most {limit}); "
                    "retry when some have finished"
                )
            self._in_flight[(access_key_id, concurrency)] = count + 1
        return True

    def leave(self, access_key_id: str, concurrency: str) -> None:
        with self._lock:
            count = self._in_flight.get((access_key_id, concurrency), 1) - 1
            if count:
                self._in_flight[(access_key_id, concurrency)] = count
            else:
                self._in_flight.pop((access_key_id, concurrency), None)

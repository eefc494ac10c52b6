"""Testing mode's hook on the request path (docs/testing.md): faults armed for the next calls of
an operation, and a record of the calls received. The dispatcher consults it only when its
`Policies.faults` is set, which only a server in testing mode does; otherwise it costs one
attribute test a request."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from ..errors import MODELLED, ServiceError, ValidationException
from .model import storage_operations
from .streams import RequestBody

# How many calls are kept for `calls()` (the oldest are dropped).
MAX_RECORDED = 100_000


@dataclass
class Fault:
    """The next `times` calls of an operation answer `error` (a modelled exception shape), or,
    when `error` is None, are answered normally `delay` seconds late."""

    error: str | None
    times: int
    delay: float
    message: str

    def exception(self, operation: str) -> ServiceError:
        assert self.error is not None
        message = self.message or f"{self.error} injected into {operation} by seqstore.testing"
        return MODELLED[self.error](message)


def modelled_errors(operation: str) -> tuple[str, ...]:
    """The exception shapes the omics model lists for `operation` (a storage operation); a
    ValidationException naming the operation if the model has no such storage operation."""
    for model in storage_operations():
        if model.name == operation:
            return tuple(shape.name for shape in model.error_shapes)
    raise ValidationException(f"operation: {operation!r} is not a storage operation of the omics model")


class Faults:
    """Armed faults by operation, and the calls received by operation, for a testing server.
    Thread-safe: handlers run in a pool while the control routes arm and read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, deque[Fault]] = {}
        self._calls: deque[tuple[str, dict[str, Any]]] = deque(maxlen=MAX_RECORDED)

    def arm(
        self, operation: str, error: str | None = None, times: int = 1, delay: float = 0.0, message: str = ""
    ) -> Fault:
        """Make the next `times` calls of `operation` fail with `error`, or answer `delay` seconds
        late; faults armed for one operation apply one after another."""
        errors = modelled_errors(operation)
        if error is not None and (error not in errors or error not in MODELLED):
            raise ValidationException(
                f"error: the omics model lists no {error!r} for {operation}; it lists {', '.join(errors)}"
            )
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ValidationException(f"times: must be a positive integer (got {times!r})")
        if not isinstance(delay, int | float) or isinstance(delay, bool) or not 0 <= delay <= 300:
            raise ValidationException(f"delay: must be a number of seconds from 0 to 300 (got {delay!r})")
        if error is None and not delay:
            raise ValidationException("give an error to answer, or a delay, or both")
        fault = Fault(error, times, float(delay), str(message or ""))
        with self._lock:
            self._armed.setdefault(operation, deque()).append(fault)
        return fault

    def take(self, operation: str) -> Fault | None:
        """The fault this call of `operation` meets, counting it; None if none is armed."""
        with self._lock:
            queue = self._armed.get(operation)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            return Fault(fault.error, 1, fault.delay, fault.message)

    def record(self, operation: str, params: dict[str, Any]) -> None:
        """Keep what a call of `operation` received (a streamed body as its declared length)."""
        entry = {
            name: ({"contentLength": value.content_length} if isinstance(value, RequestBody) else value)
            for name, value in params.items()
        }
        with self._lock:
            self._calls.append((operation, entry))

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The params of the calls received (of `operation`, else of every operation with the
        operation's name under "operation"), oldest first."""
        with self._lock:
            if operation is not None:
                return [dict(entry) for name, entry in self._calls if name == operation]
            return [{"operation": name, **entry} for name, entry in self._calls]

    def armed(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {
                name: [vars(fault).copy() for fault in queue] for name, queue in self._armed.items() if queue
            }

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
            self._calls.clear()

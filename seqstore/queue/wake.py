"""How a process that queues a job wakes the idle worker threads of the same process at once,
instead of leaving them to their next poll (workers of other processes still poll)."""

from __future__ import annotations

import threading


class WakeSignal:
    """Passed to the domain (which calls `notify` after queuing) and to the worker (which
    `wait`s on it between polls)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()

    def notify(self) -> None:
        with self._condition:
            self._condition.notify_all()

    def wait(self, timeout: float) -> None:
        """Sleep until `notify` or `timeout` seconds, whichever comes first."""
        with self._condition:
            self._condition.wait(timeout)

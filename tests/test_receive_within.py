"""receive_within: a message already there is taken without a timer; one that has to be waited
for is waited for under the timeout, which cancels the receive when it runs out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from seqstore.errors import RequestTimeoutException
from seqstore.protocol import streams
from seqstore.protocol.streams import receive_within

MESSAGE = {"type": "http.request", "body": b"{}", "more_body": False}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_a_message_that_is_there_needs_no_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    timers: list[float] = []
    real = asyncio.timeout
    monkeypatch.setattr(streams.asyncio, "timeout", lambda seconds: timers.append(seconds) or real(seconds))

    async def ready() -> dict[str, Any]:
        return MESSAGE

    assert run(receive_within(ready, 5)) == MESSAGE
    assert timers == []


def test_a_message_that_comes_later_is_waited_for_under_the_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    timers: list[float] = []
    real = asyncio.timeout
    monkeypatch.setattr(streams.asyncio, "timeout", lambda seconds: timers.append(seconds) or real(seconds))

    async def main() -> dict[str, Any]:
        arrived = asyncio.Event()
        asyncio.get_running_loop().call_later(0.02, arrived.set)

        async def later() -> dict[str, Any]:
            await arrived.wait()
            await asyncio.sleep(0)  # and a second suspension
            return MESSAGE

        return await receive_within(later, 5)

    assert run(main()) == MESSAGE
    assert timers == [5]


def test_a_stalled_client_times_out_and_the_receive_is_cancelled() -> None:
    cancelled: list[bool] = []

    async def stalled() -> dict[str, Any]:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return MESSAGE

    with pytest.raises(RequestTimeoutException, match="No request body bytes arrived"):
        run(receive_within(stalled, 0.05))
    assert cancelled == [True]


def test_errors_and_plain_awaitables_pass_through() -> None:
    async def fails_after_waiting() -> dict[str, Any]:
        await asyncio.sleep(0.001)
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError, match="gone"):
        run(receive_within(fails_after_waiting, 5))

    async def main() -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, future.set_result, MESSAGE)
        return await receive_within(lambda: future, 5)

    assert run(main()) == MESSAGE

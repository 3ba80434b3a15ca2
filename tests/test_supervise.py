"""inbound.supervise and the service's wait: a background task that ends is noticed."""

from __future__ import annotations

import asyncio

import pytest

from inbound import supervise
from inbound.service import until_stopped


async def _forever() -> None:
    await asyncio.Event().wait()


async def _fails() -> None:
    raise RuntimeError("the LISTEN broke")


async def _returns() -> None:
    return None


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_failing_task_ends_the_wait_and_says_why() -> None:
    tasks = [asyncio.create_task(_forever(), name="pusher"),
             asyncio.create_task(_fails(), name="rules")]
    try:
        ended = await asyncio.wait_for(supervise.first_to_end(tasks), 10)
        assert ended is tasks[1]
        assert supervise.why_it_ended(ended) == "RuntimeError: the LISTEN broke"
        with pytest.raises(RuntimeError, match="the LISTEN broke"):
            supervise.reraise(ended)
    finally:
        await _cancel_all(tasks)


async def test_a_task_that_returns_is_an_end_too() -> None:
    task = asyncio.create_task(_returns(), name="mirror")
    ended = await asyncio.wait_for(supervise.first_to_end([task]), 10)
    assert supervise.why_it_ended(ended) == "returned"
    with pytest.raises(supervise.TaskEnded, match="mirror returned"):
        supervise.reraise(ended)


async def test_the_service_waits_for_the_stop_signal_or_the_first_task_to_end() -> None:
    stop = asyncio.Event()
    running = [asyncio.create_task(_forever(), name="pusher")]
    try:
        stop.set()
        assert await asyncio.wait_for(until_stopped(stop, running), 10) is None  # no blame
        assert not running[0].done()  # the service's stop() cancels its tasks, not the wait
        failing = asyncio.create_task(_fails(), name="link-main")
        running.append(failing)
        assert await asyncio.wait_for(until_stopped(asyncio.Event(), running), 10) is failing
    finally:
        await _cancel_all(running)

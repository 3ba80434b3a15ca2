"""inbound.supervise: a background task that ends is logged, counted and started again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from inbound import supervise
from smpp_bind.backoff import Backoff

NO_WAIT = Backoff(first=0.0, cap=0.0)


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    """What supervise logs, through a fresh logger: the module's own may have been cached
    (cache_logger_on_first_use) by an earlier test that ran the service under the CLI's
    configuration, holding a processor list that structlog.reset_defaults() has since
    replaced, so capture_logs (which edits the current list) would not reach it."""
    with capture_logs() as captured:
        monkeypatch.setattr(supervise, "log", structlog.get_logger("test_supervise"))
        yield captured


async def supervised_until(reached: asyncio.Event, name: str,
                           start: Callable[[], Awaitable[None]], **options: Any) -> None:
    """``keep_running(name, start)`` (restarts without waiting) until ``reached``, then
    cancelled as the service's stop does."""
    task = asyncio.create_task(supervise.keep_running(name, start, backoff=NO_WAIT, **options))
    try:
        await asyncio.wait_for(reached.wait(), 10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def ends(logged: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in logged if e["event"] == "background task ended; starting it again"]


def restarts(task: str) -> float:
    value = REGISTRY.get_sample_value("iys_inbound_task_restarts_total", {"task": task})
    return value or 0.0


async def test_a_task_that_fails_is_started_again_and_each_end_is_logged_and_counted(
    logged: list[MutableMapping[str, Any]],
) -> None:
    starts = 0
    third_start = asyncio.Event()

    async def flaky() -> None:
        nonlocal starts
        starts += 1
        if starts == 1:
            raise RuntimeError("cannot switch to state 11")
        if starts == 2:
            return  # a task meant to run forever that returns is an end too
        third_start.set()
        await asyncio.Event().wait()

    before = restarts("test-flaky")
    await supervised_until(third_start, "test-flaky", flaky)
    assert starts == 3
    assert restarts("test-flaky") - before == 2
    assert [(e["task"], e["error"], e["log_level"]) for e in ends(logged)] == [
        ("test-flaky", "RuntimeError: cannot switch to state 11", "error"),
        ("test-flaky", "returned", "error")]
    assert [e["restarts_in_a_row"] for e in ends(logged)] == [1, 2]


async def test_cancelling_stops_it_for_good() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(supervise.keep_running("test-cancel", forever))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert restarts("test-cancel") == 0


async def test_parts_run_together_end_together_with_what_ended_the_first() -> None:
    cancelled: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.append(name)

    async def fails() -> None:
        raise RuntimeError("the LISTEN broke")

    async def returns() -> None:
        return None

    with pytest.raises(RuntimeError, match="the LISTEN broke"):
        await asyncio.wait_for(supervise.together(
            {"rounds": forever("rounds"), "listen": fails(), "gauges": forever("gauges")}), 10)
    assert sorted(cancelled) == ["gauges", "rounds"]  # nothing left running behind
    with pytest.raises(supervise.TaskEnded, match="gauges returned"):
        await asyncio.wait_for(supervise.together(
            {"rounds": forever("rounds2"), "gauges": returns()}), 10)
    assert "rounds2" in cancelled


async def test_each_end_carries_its_traceback_and_a_long_healthy_run_starts_the_count_again(
    logged: list[MutableMapping[str, Any]],
) -> None:
    starts = 0
    third_start = asyncio.Event()

    async def fails_twice() -> None:
        nonlocal starts
        starts += 1
        if starts < 3:
            raise KeyError(f"bug {starts}")
        third_start.set()
        await asyncio.Event().wait()

    # healthy_after=0: every run counts as a long one, so no end follows another "in a row"
    await supervised_until(third_start, "test-healthy", fails_twice, healthy_after=0)
    assert [e["restarts_in_a_row"] for e in ends(logged)] == [1, 1]
    assert [type(e["exc_info"]) for e in ends(logged)] == [KeyError, KeyError]  # a traceback


async def test_a_part_cancelled_from_inside_is_an_end_and_is_restarted() -> None:
    starts = 0
    second_start = asyncio.Event()

    async def cancelled_by_its_own_code() -> None:
        nonlocal starts
        starts += 1
        if starts == 1:
            inner = asyncio.create_task(asyncio.Event().wait(), name="inner")
            inner.cancel()
            await inner  # a CancelledError the supervisor did not ask for
        second_start.set()
        await asyncio.Event().wait()

    before = restarts("test-inner-cancel")
    await supervised_until(second_start, "test-inner-cancel", cancelled_by_its_own_code)
    assert restarts("test-inner-cancel") - before == 1


async def test_cancelling_together_cancels_every_part() -> None:
    cancelled: list[str] = []
    running = asyncio.Event()

    async def forever(name: str) -> None:
        running.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.append(name)

    task = asyncio.create_task(supervise.together({"a": forever("a"), "b": forever("b")}))
    await asyncio.wait_for(running.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cancelled) == ["a", "b"]

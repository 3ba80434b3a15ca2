"""Waiting for a condition with a deadline (never a bare sleep standing in for an event)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_until(probe: Callable[[], Awaitable[T] | T], *, timeout: float = 10.0,
                     what: str = "condition") -> T:
    """Re-evaluate ``probe`` until it returns something truthy; fail after ``timeout``. The
    probe may be a coroutine function (a query) or a plain one (a flag in memory)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        value = await answer if inspect.isawaitable(answer) else answer
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")
        await asyncio.sleep(0.05)

"""Tasks meant to run for the life of the process: one that ends is noticed and started again.

A background task that ends on an unexpected exception would otherwise leave the service
running without it (a pusher that no longer pushes, a LISTEN nobody holds, a link nobody
owns) with nothing in the logs but "Task exception was never retrieved" at exit. Each of
the service's tasks runs inside :func:`keep_running`: an end is logged as an error with the
task's name and error, counted (``iys_inbound_task_restarts_total``, alert
``IysInboundTaskRestarting``) and followed, after a backoff, by a fresh start of the task.

Why not stop the whole process instead: a bug in a side task (one webhook row a deliverer
cannot handle) would then take the SMPP links down with it, again and again; MO intake
must not depend on the webhooks. Database outages are not such ends: every task waits them
out itself (``db.DATABASE_ERRORS``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

import structlog

from inbound import metrics
from smpp_bind.backoff import Attempts, Backoff

log = structlog.get_logger(__name__)

RESTART_BACKOFF = Backoff(first=1.0, cap=60.0)
HEALTHY_AFTER = 300.0  # a task that ran this long before it ended waits the first step again


class TaskEnded(Exception):
    """A task meant to run until cancelled returned."""


async def keep_running(name: str, start: Callable[[], Awaitable[None]], *,
                       backoff: Backoff = RESTART_BACKOFF,
                       healthy_after: float = HEALTHY_AFTER) -> NoReturn:
    """Run ``start()`` until cancelled, starting it again whenever it ends."""
    attempts = Attempts(backoff)
    metrics.TASK_RESTARTS.labels(name)  # a zero series from the start, not "no data"
    while True:
        started = time.monotonic()
        failure: BaseException | None = None
        try:
            await start()
        except asyncio.CancelledError as exc:
            if _being_cancelled():
                raise  # the service is stopping: not an end to survive
            failure = exc  # something cancelled a task of ours from inside: an end too
        except Exception as exc:  # the point: any end is logged and survived
            failure = exc
        if time.monotonic() - started >= healthy_after:
            attempts.reset()
        delay = attempts.next_delay()
        why = "returned" if failure is None else f"{type(failure).__name__}: {failure}"[:300]
        log.error("background task ended; starting it again", task=name, error=why,
                  restart_in=round(delay, 2), restarts_in_a_row=attempts.failures,
                  exc_info=failure)  # the traceback says where (logs mask phone numbers)
        metrics.TASK_RESTARTS.labels(name).inc()
        await asyncio.sleep(delay)


def reraise(task: asyncio.Task[Any]) -> NoReturn:
    """Raise what ended a task that is done: its exception, or :class:`TaskEnded` when it
    returned or was cancelled (by someone else than the caller)."""
    if task.cancelled():
        raise TaskEnded(f"{task.get_name()} was cancelled")
    task.result()
    raise TaskEnded(f"{task.get_name()} returned")


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def together(parts: dict[str, Coroutine[Any, Any, None]]) -> NoReturn:
    """Run coroutines meant to run until cancelled as one task: the first to end cancels
    the others, and what ended it is raised (its exception, or :class:`TaskEnded`)."""
    tasks = [asyncio.create_task(part, name=name) for name, part in parts.items()]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        reraise(next(task for task in tasks if task in done))  # the given order breaks ties
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

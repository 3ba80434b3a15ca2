"""Tasks meant to run for the life of the process: the first one to end is noticed.

A background task that ends on an unexpected exception would otherwise leave the service
running without it: a pusher that no longer pushes, a LISTEN nobody holds, a link nobody
owns, with nothing in the logs but a "Task exception was never retrieved" at exit. The
service and the pusher wait on all of their tasks at once instead, and treat the first
one that ends as the end of them all (``iys-inbound run`` then exits with status 1, for its
supervisor to start it again; a PDU not yet answered is resent by the SMSC).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, NoReturn


class TaskEnded(Exception):
    """A task meant to run until cancelled returned."""


async def first_to_end(tasks: Sequence[asyncio.Task[Any]]) -> asyncio.Task[Any]:
    """The first of ``tasks`` to end (in the given order when several end together)."""
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    return next(task for task in tasks if task in done)


def why_it_ended(task: asyncio.Task[Any]) -> str:
    """For the log line: what ended a task that is done."""
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return f"{type(exc).__name__}: {exc}" if exc is not None else "returned"


def reraise(task: asyncio.Task[Any]) -> NoReturn:
    """Raise what ended a task that is done: its exception, or :class:`TaskEnded`."""
    task.result()
    raise TaskEnded(f"{task.get_name()} returned")

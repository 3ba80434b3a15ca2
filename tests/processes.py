"""Ending the child processes the tests and benchmarks start (peer, service, sandbox)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


async def stop_process(proc: asyncio.subprocess.Process, ask: Callable[[], None],
                       grace: float) -> None:
    """``ask`` it to stop (a signal, or closing its stdin), give it ``grace`` seconds to
    finish cleanly, then kill it. Nothing to do when it has already exited."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        ask()
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()

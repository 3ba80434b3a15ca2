"""A token bucket per İYS account, shared by every process through PostgreSQL.

İYS counts requests per IP (10/s, IYS_API.md §6) and every process of ours shares the IP, so
the bucket lives in one row (``iys_rate``), refilled and taken from in one atomic statement.
The bucket is one token deep: in any sliding second at most ``1 + rate`` requests go out (İYS
counts a sliding second; a bucket as deep as the rate would allow twice the rate in a burst).
Within a process a lock lets one waiter at a time ask the database, so a crowd of waiting
coroutines costs one query per refill interval rather than one each; a waiter told "no"
learns when the next token is due and asks again then. (Polling every quarter interval
lost half a poll and a query's time a token, ~15-20 % of the budget under full demand.)
A bulk import's request reserves the next token up to one interval before it is there
and waits for it: it cannot lose its token by being late. There is at most one reservation
(tokens never go below -1), and a request of this process at normal priority that waits
meanwhile takes it over (the import asks again): a live request still waits for at most
one import request, the one already sent.

Bulk imports ask at low priority (``LOW_PRIORITY``, set by the import lane's tasks): one low
waiter at a time, and it takes a token only while no other request of this process waits,
so a live request waits for at most the one import request that took the token before it
(DESIGN.md: no lower class may delay a higher one by more than one request).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextvars import ContextVar

import asyncpg

from iys_push import store

DEPTH = 1.0
# a bulk import's request reserves the next token up to an interval ahead (then waits for
# it): a waiter late by less than an interval (a busy event loop) still has its token
RESERVE = 0.0
MIN_WAIT = 0.001    # a waiter told "now" (another process took it meanwhile) asks again soon
# set in a task that sends bulk-import requests (iys_push.import_lane): they go last
LOW_PRIORITY: ContextVar[bool] = ContextVar("iys_low_priority", default=False)


class SharedRateLimit:
    def __init__(self, pool: asyncpg.Pool, account: str, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.pool = pool
        self.account = account
        self.rate = requests_per_second
        self._lock = asyncio.Lock()
        self._low = asyncio.Lock()
        self._waiting = 0       # requests of this process waiting at normal priority
        # a bulk import's reservation: when its token comes (monotonic clock), and whether
        # a request of this process at normal priority took it over
        self._slot: float | None = None
        self._slot_taken = False
        self._slot_made = asyncio.Event()

    async def acquire(self) -> None:
        """Wait until this process may send one request (``LOW_PRIORITY``: after every
        other request of this process that waits)."""
        if LOW_PRIORITY.get():
            await self._acquire_low()
            return
        self._waiting += 1
        try:
            await self._acquire()
        finally:
            self._waiting -= 1

    async def _acquire_low(self) -> None:
        async with self._low:
            while True:
                if self._waiting or self._lock.locked():
                    await asyncio.sleep(1.0 / self.rate / 4)   # a request of ours goes first
                    continue
                taken, seconds = await self._take(RESERVE)
                if not taken:
                    await asyncio.sleep(seconds)
                    continue
                if seconds <= 0:
                    return
                # reserved: a live request of this process that waits meanwhile takes it
                self._slot, self._slot_taken = time.monotonic() + seconds, False
                self._slot_made.set()
                try:
                    await asyncio.sleep(seconds)
                finally:
                    self._slot = None
                if not self._slot_taken:
                    return

    async def _acquire(self) -> None:
        async with self._lock:
            while True:
                if self._slot is not None and not self._slot_taken:
                    self._slot_taken = True          # an import's reservation, taken over
                    await asyncio.sleep(max(0.0, self._slot - time.monotonic()))
                    return
                taken, seconds = await self._take(1.0)
                if taken:
                    return
                if self._slot is not None and not self._slot_taken:
                    continue
                self._slot_made.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_made.wait(), seconds)

    async def _take(self, least: float) -> tuple[bool, float]:
        """Take a token if ``least`` are there (below 1: a reservation). (True, seconds
        until its token comes) or (False, seconds until ``least`` are there: asked again
        then, not later, as a token not taken when it is there is lost to a bucket one
        deep)."""
        row = await self.pool.fetchrow(store.SQL.take_rate_token, self.account, DEPTH,
                                       self.rate, least)
        if row["tokens"] is not None:
            return True, max(0.0, -float(row["tokens"])) / self.rate
        wait = float(row["wait"]) if row["wait"] is not None else 1.0 / self.rate
        return False, min(max(wait, MIN_WAIT), 1.0 / self.rate)

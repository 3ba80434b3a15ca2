"""A token bucket per İYS account, shared by every process through PostgreSQL.

İYS counts requests per IP (10/s, IYS_API.md §6) and every process of ours shares the IP, so
the bucket lives in one row (``iys_rate``), refilled and taken from in one atomic statement.
The bucket is one token deep: in any sliding second at most ``1 + rate`` requests go out (İYS
counts a sliding second; a bucket as deep as the rate would allow twice the rate in a burst).
Within a process a lock lets one waiter at a time ask the database, so a crowd of waiting
coroutines costs one query per refill interval rather than one each.

Bulk imports ask at low priority (``LOW_PRIORITY``, set by the import lane's tasks): one low
waiter at a time, and it takes a token only while no other request of this process waits,
so a live request waits for at most the one import request that took the token before it
(DESIGN.md: no lower class may delay a higher one by more than one request).
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

import asyncpg

from iys_push import store

DEPTH = 1.0
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
                if not self._waiting and not self._lock.locked() and await self.pool.fetchval(
                        store.SQL.take_rate_token, self.account, DEPTH, self.rate) is not None:
                    return
                await asyncio.sleep(1.0 / self.rate / 4)

    async def _acquire(self) -> None:
        async with self._lock:
            while True:
                if await self.pool.fetchval(store.SQL.take_rate_token, self.account, DEPTH,
                                            self.rate) is not None:
                    return
                # the next token is at most one refill interval away
                await asyncio.sleep(1.0 / self.rate)

"""A token bucket per İYS account, shared by every process through PostgreSQL.

İYS counts requests per IP (10/s, IYS_API.md §6) and every process of ours shares the IP, so
the bucket lives in one row (``iys_rate``), refilled and taken from in one atomic statement.
The bucket is one token deep: in any sliding second at most ``1 + rate`` requests go out (İYS
counts a sliding second; a bucket as deep as the rate would allow twice the rate in a burst).
Within a process a lock lets one waiter at a time ask the database, so a crowd of waiting
coroutines costs one query per refill interval rather than one each.
"""

from __future__ import annotations

import asyncio

import asyncpg

from iys_push import store

DEPTH = 1.0


class SharedRateLimit:
    def __init__(self, pool: asyncpg.Pool, account: str, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.pool = pool
        self.account = account
        self.rate = requests_per_second
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until this process may send one request."""
        async with self._lock:
            while True:
                if await self.pool.fetchval(store.SQL.take_rate_token, self.account, DEPTH,
                                            self.rate) is not None:
                    return
                # the next token is at most one refill interval away
                await asyncio.sleep(1.0 / self.rate)

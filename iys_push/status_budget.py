"""İYS's single status endpoint allows 1,000 calls an hour per IP (H086, IYS_API.md §2.4, §6),
shared by every process of ours: one row per call in ``iys_status_call``, a sliding hour.

The pusher's own date checks (a status query that settles a pending event) always go and are
counted; an owner's refresh takes its calls from what they leave, keeping ``RESERVE`` for the
pusher (DESIGN.md "One request budget": settling pending events comes before owner-requested
refreshes). A refresh that does not fit is refused with the seconds until it would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import asyncpg

from inbound import sqlfile

PER_HOUR = 1000
RESERVE = 200          # left for the pusher's status queries
WINDOW_SECONDS = 3600

SQL = sqlfile.load("iys_push", "sql/status_budget.sql")


@dataclass(frozen=True)
class Refusal:
    """No room: ``retry_after`` seconds until there is (for a ``Retry-After`` header)."""

    used: int
    limit: int
    retry_after: int


async def record(pool: asyncpg.Pool, account: str) -> None:
    """Count one status call that goes whatever the budget (the pusher's)."""
    await pool.execute(SQL.status_call_record, account)


async def take(pool: asyncpg.Pool, account: str, calls: int, *,
               limit: int = PER_HOUR - RESERVE) -> Refusal | None:
    """Take ``calls`` calls for an owner's refresh, or say when there is room again."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(SQL.status_calls_take, account)
        used = int(row["used"])
        if used + calls > limit:
            # room comes when enough of the window's oldest calls have left it
            wait = None
            if calls <= limit:
                wait = await conn.fetchval(SQL.status_call_nth_leaves, account,
                                          used + calls - limit)
            return Refusal(used, limit, max(1, math.ceil(float(
                wait if wait is not None else WINDOW_SECONDS))))
        await conn.execute(SQL.status_calls_taken, account, calls)
    return None


async def used(pool: asyncpg.Pool, account: str) -> int:
    return int(await pool.fetchval(SQL.status_calls_used, account))

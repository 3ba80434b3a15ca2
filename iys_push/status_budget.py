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

PER_HOUR = 1000
RESERVE = 200          # left for the pusher's status queries
WINDOW_SECONDS = 3600

# the calls that left the window go as new ones come (the table holds about an hour)
RECORD = """
WITH gone AS (DELETE FROM iys_status_call
               WHERE account = $1 AND at < clock_timestamp() - interval '1 hour')
INSERT INTO iys_status_call (account) VALUES ($1)
"""
# one taker at a time per account (transaction-scoped advisory lock), so two refreshes
# cannot both see room for the last calls; old rows are removed as the window slides
TAKE = """
WITH locked AS (SELECT pg_advisory_xact_lock(hashtext('iys_status_call:' || $1))),
gone AS (DELETE FROM iys_status_call
          WHERE account = $1 AND at < clock_timestamp() - interval '1 hour'
            AND (SELECT true FROM locked))
SELECT count(*) AS used
  FROM iys_status_call
 WHERE account = $1 AND at >= clock_timestamp() - interval '1 hour'
   AND (SELECT true FROM locked)
"""
TAKE_MANY = """
INSERT INTO iys_status_call (account) SELECT $1 FROM generate_series(1, $2)
"""
# when the $2-th oldest call of the window leaves it (seconds from now)
NTH_LEAVES = """
SELECT EXTRACT(EPOCH FROM at + interval '1 hour' - clock_timestamp())
  FROM iys_status_call
 WHERE account = $1 AND at >= clock_timestamp() - interval '1 hour'
 ORDER BY at OFFSET $2 - 1 LIMIT 1
"""
USED = """
SELECT count(*) FROM iys_status_call
 WHERE account = $1 AND at >= clock_timestamp() - interval '1 hour'
"""


@dataclass(frozen=True)
class Refusal:
    """No room: ``retry_after`` seconds until there is (for a ``Retry-After`` header)."""

    used: int
    limit: int
    retry_after: int


async def record(pool: asyncpg.Pool, account: str) -> None:
    """Count one status call that goes whatever the budget (the pusher's)."""
    await pool.execute(RECORD, account)


async def take(pool: asyncpg.Pool, account: str, calls: int, *,
               limit: int = PER_HOUR - RESERVE) -> Refusal | None:
    """Take ``calls`` calls for an owner's refresh, or say when there is room again."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(TAKE, account)
        used = int(row["used"])
        if used + calls > limit:
            # room comes when enough of the window's oldest calls have left it
            wait = None
            if calls <= limit:
                wait = await conn.fetchval(NTH_LEAVES, account, used + calls - limit)
            return Refusal(used, limit, max(1, math.ceil(float(
                wait if wait is not None else WINDOW_SECONDS))))
        await conn.execute(TAKE_MANY, account, calls)
    return None


async def used(pool: asyncpg.Pool, account: str) -> int:
    return int(await pool.fetchval(USED, account))

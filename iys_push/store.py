"""The İYS side's statements (``iys_push/sql/iys_push.sql``) and the helpers that run them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import asyncpg

from inbound import sqlfile
from iys_push.events import ClaimedEvent

SQL = sqlfile.load("iys_push", "sql/iys_push.sql")


@contextlib.asynccontextmanager
async def claim_transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose queries are planned as claim_plan says."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SQL.claim_plan)
        yield conn


async def due_count(pool: asyncpg.Pool, up_to: int) -> int:
    """How many events a claim could take now, counted up to ``up_to``."""
    async with claim_transaction(pool) as conn:
        return int(await conn.fetchval(SQL.due_count, up_to))


async def claim(pool: asyncpg.Pool, limit: int, worker_id: str,
                lease_seconds: float) -> list[ClaimedEvent]:
    """Lease up to ``limit`` due events to ``worker_id``."""
    async with claim_transaction(pool) as conn:
        return [ClaimedEvent.of(r)
                for r in await conn.fetch(SQL.claim, limit, worker_id, lease_seconds)]


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows as the column arrays that unnest() statements take (``width`` columns, also when
    there are no rows)."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def key_state_columns(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """upsert_key_state's arguments, one row per key (of two, the later one). A claim takes
    one event per key, so a round has no two rows for a key; this keeps the statement valid
    if one ever had. Rows of 8 (no transaction id and creation date) are padded to 10."""
    by_key = {tuple(row[:4]): (*row, None, None)[:10] for row in rows}
    return columns(list(by_key.values()), 10)



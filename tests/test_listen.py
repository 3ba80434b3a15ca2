"""db.listen_forever: the one reconnect loop of the dedicated LISTEN connections."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from inbound import db
from tests.waiting import wait_until


async def test_a_killed_listen_connection_is_noticed_and_replaced(
    dsn: str, pool: asyncpg.Pool
) -> None:
    events: list[str] = []
    notified = asyncio.Event()
    task = asyncio.create_task(db.listen_forever(
        dsn, "test_channel", notified.set, on_connected=lambda: events.append("up"),
        on_lost=lambda: events.append("down"), ping_every=0.05, retry_after=0.05))

    try:
        await wait_until(lambda: _is(events == ["up"]), what="the first connection")
        await pool.execute("SELECT pg_notify('test_channel', '')")
        await asyncio.wait_for(notified.wait(), 10)
        # the server ends the connection without a word: the ping notices, a new one comes
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database()"
            "   AND (query LIKE 'LISTEN%' OR query LIKE 'SELECT 1%')")
        assert killed == 1
        await wait_until(lambda: _is(events[:3] == ["up", "down", "up"]), what="a reconnect")
        notified.clear()
        await pool.execute("SELECT pg_notify('test_channel', '')")
        await asyncio.wait_for(notified.wait(), 10)  # heard on the new connection
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _is(value: bool) -> bool:
    return value

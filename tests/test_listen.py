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
        await wait_until(lambda: events == ["up"], what="the first connection")
        await pool.execute("SELECT pg_notify('test_channel', '')")
        await asyncio.wait_for(notified.wait(), 10)
        # the server ends the connection without a word: the ping notices, a new one comes
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database()"
            "   AND (query LIKE 'LISTEN%' OR query LIKE 'SELECT 1%')")
        assert killed == 1
        await wait_until(lambda: events[:3] == ["up", "down", "up"], what="a reconnect")
        notified.clear()
        await pool.execute("SELECT pg_notify('test_channel', '')")
        await asyncio.wait_for(notified.wait(), 10)  # heard on the new connection
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class _ConnectionThatFailsItsPing:
    """Stands for a connection whose backend was killed while asyncpg was still reading the
    FATAL message: the next statement fails with asyncpg's InternalClientError, not with a
    socket or server error (seen in CI: "cannot switch to state 11")."""

    def __init__(self) -> None:
        self.terminated = False

    def is_closed(self) -> bool:
        return False

    async def fetchval(self, query: str) -> int:
        raise asyncpg.InternalClientError(
            "cannot switch to state 11; another operation (2) is in progress")

    def terminate(self) -> None:
        self.terminated = True


async def test_a_client_side_protocol_error_on_the_ping_counts_as_a_lost_connection(
    monkeypatch: object,
) -> None:
    connections = [_ConnectionThatFailsItsPing(), _ConnectionThatFailsItsPing()]
    handed_out = iter(connections)
    events: list[str] = []

    async def fake_connect(dsn: str) -> _ConnectionThatFailsItsPing:
        return next(handed_out)

    async def on_connected(conn: object) -> bool:
        events.append("up")
        return len(events) < 3  # the second connection is the last one wanted

    monkeypatch.setattr(db, "connect", fake_connect)  # type: ignore[attr-defined]
    await asyncio.wait_for(db.hold_connection(
        "unused", on_connected, what="test", on_lost=lambda: events.append("down"),
        ping_every=0, retry_after=0), 10)
    # the failed ping dropped the first connection and a second one was made
    assert events == ["up", "down", "up", "down"]
    assert [c.terminated for c in connections] == [True, True]

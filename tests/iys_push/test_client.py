"""The client: one shared token, H084 respected, 401 handled once, the shared rate limit."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from inbound.db import connect_pool
from iys_push.client import IysClient, TokenHalted
from iys_push.pusher import Pusher
from iys_push.sandbox.testing import SandboxServer
from tests.iys_push.conftest import add_event, drain, requests, settings, states


def token_calls(sb: SandboxServer) -> int:
    return requests(sb, "/oauth2/token")


async def test_two_pusher_processes_share_one_token(sandbox: SandboxServer, db: asyncpg.Pool,
                                                    dsn: str) -> None:
    other_pool = await connect_pool(dsn, min_size=1, max_size=4)  # another process's pool
    try:
        for i in range(6):
            await add_event(db, f"+90555222{i:04d}", "ONAY")
        a = Pusher(db, dsn, settings(sandbox), worker_id="a")
        b = Pusher(other_pool, dsn, settings(sandbox), worker_id="b")
        await asyncio.gather(a.drain_once(), b.drain_once())
        await drain(a, db)
        assert token_calls(sandbox) == 1
        assert await states(db) == ["accepted"] * 6
        await asyncio.gather(a.client.close(), b.client.close())
    finally:
        await other_pool.close()


async def test_h084_halts_token_calls_for_a_full_hour(sandbox: SandboxServer,
                                                      db: asyncpg.Pool) -> None:
    sandbox.state.config.token_calls_per_hour = 0  # İYS answers the next token call with H084
    await add_event(db, "+905551112233", "ONAY")
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await pusher.drain_once()
    await db.execute("UPDATE consent_event SET next_attempt_at = now()")
    await pusher.drain_once()  # the halt is in the database: no second call
    halted = await db.fetchval("SELECT halted_until FROM iys_token")
    assert halted > datetime.now(UTC) + timedelta(minutes=59)
    event = await db.fetchrow("SELECT state, last_error_code, next_attempt_at FROM consent_event")
    assert (event["state"], event["last_error_code"]) == ("pending", "H084")
    assert event["next_attempt_at"] >= halted
    other = IysClient(db, settings(sandbox))  # another process: halted too
    with pytest.raises(TokenHalted):
        await other.access_token()
    await asyncio.gather(other.close(), pusher.client.close())
    assert token_calls(sandbox) == 1  # only the call that was refused


async def test_after_a_401_a_token_another_process_stored_is_used_without_a_token_call(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    client = IysClient(db, settings(sandbox))
    stale = await client.access_token()
    # another process renewed the token meanwhile; İYS no longer knows ours
    account = sandbox.state.config.accounts[0]
    fresh = sandbox.state.issue_tokens(account)["access_token"]
    del sandbox.state.access[stale]
    await db.execute("UPDATE iys_token SET access_token = $1", fresh)
    answer = await client.onay_recipients(700001, 700001, "BIREYSEL", "MESAJ", ["+905551112233"])
    assert answer == set()
    assert requests(sandbox, "/status/{type} 401") == 1
    assert requests(sandbox, "/status/{type} 200") == 1
    assert token_calls(sandbox) == 1
    await client.close()


async def test_token_calls_are_evidence_without_their_secrets(sandbox: SandboxServer,
                                                              db: asyncpg.Pool) -> None:
    client = IysClient(db, settings(sandbox))
    token = await client.access_token()
    await client.close()
    row = await db.fetchrow("SELECT * FROM iys_attempt WHERE path = '/oauth2/token'")
    assert row["http_status"] == 200
    assert row["request"] == {"grant_type": "password", "username": "sandbox",
                              "password": "***"}
    assert token not in (row["response"] or "")
    assert "password" not in repr(settings(sandbox))


async def test_an_expiring_token_is_refreshed_with_the_rotating_refresh_token(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    client = IysClient(db, settings(sandbox))
    first = await client.access_token()
    await db.execute("UPDATE iys_token SET access_expires_at = now() + interval '2 minutes'")
    other = IysClient(db, settings(sandbox))  # a process without the token in memory
    second = await other.access_token()
    assert second != first
    grants = [r["request"]["grant_type"] for r in await db.fetch(
        "SELECT request FROM iys_attempt WHERE path = '/oauth2/token' ORDER BY id")]
    assert grants == ["password", "refresh_token"]
    await asyncio.gather(client.close(), other.close())


async def test_two_processes_together_stay_under_ten_requests_a_second(
    sandbox: SandboxServer, db: asyncpg.Pool, dsn: str
) -> None:
    other_pool = await connect_pool(dsn, min_size=1, max_size=4)
    clients = [IysClient(db, settings(sandbox)), IysClient(other_pool, settings(sandbox))]
    try:
        await clients[0].access_token()
        started = time.monotonic()
        await asyncio.gather(*(
            c.onay_recipients(700001, 700001, "BIREYSEL", "MESAJ", [f"+90555000{i:04d}"])
            for i in range(12) for c in clients))
        elapsed = time.monotonic() - started
        assert requests(sandbox, " 429") == 0
        assert sandbox.state.max_per_second <= 10  # one-deep bucket at 8/s: 1 + 8 sent
        assert elapsed >= (24 - 2) / 8 * 0.9
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        await other_pool.close()

"""Fixtures for the İYS push tests: the sandbox over real HTTP, a brand, events, a drain."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from iys_push import calendar
from iys_push.client import IysClient, IysSettings
from iys_push.pusher import Pusher
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer

ALICE = "+905321234567"
BOB = "+905551112233"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(batch_result_delay=0)) as sb:
        yield sb


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    """The test database with brand ``acme`` (İYS 700001/700001) and ``beta`` (700001/700002)."""
    await pool.execute("INSERT INTO brand (id, name, iys_code, brand_code) VALUES "
                       "('acme', 'ACME', 700001, 700001), ('beta', 'Beta', 700001, 700002)")
    return pool


def settings(sb: SandboxServer, **overrides: object) -> IysSettings:
    base: dict[str, object] = {
        "base_url": sb.url, "username": "sandbox", "password": "sandbox", "timeout": 2.0,
        "requests_per_second": 8.0, "batch_threshold": 50, "batch_poll_delay": 0.2,
        "lease_seconds": 30.0}
    base.update(overrides)
    return IysSettings(**base)  # type: ignore[arg-type]


async def add_event(pool: asyncpg.Pool, recipient: str, status: str, *,
                    received_at: datetime | None = None, brand: str = "acme",
                    type_: str = "MESAJ", source: str = "HS_MESAJ") -> int:
    """An SMS and its consent event, as the pipeline writes them."""
    received_at = received_at or datetime.now(UTC)
    message_id = await pool.fetchval(
        "INSERT INTO mo_message (link, received_at, completed_at, sender, outcome) "
        "VALUES ('t', $1, $1, $2, 'consent') RETURNING id", received_at, recipient)
    return await pool.fetchval(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, source, received_at, consent_date, deadline_at)
           SELECT $1, id, iys_code, brand_code, $2, 'BIREYSEL', $7, $3, $8, $4, $4, $5
             FROM brand WHERE id = $6 RETURNING id""",
        message_id, recipient, status, received_at, calendar.deadline_for(received_at), brand,
        type_, source)


async def poll_until(check: Callable[[], Awaitable[bool]], timeout: float,
                     what: str) -> None:
    """Poll ``check`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def drain(pusher: Pusher, pool: asyncpg.Pool, timeout: float = 60) -> int:
    """Run ``drain_once`` until nothing is pending. Back-off and batch-poll waits are cut
    short (made due at once) so a test does not sit out minutes of back-off; a per-key wait
    for the next second is real. Returns how many rounds it took. The pusher's HTTP session
    is closed at the end (the client opens a new one if the pusher is used again)."""
    deadline = time.monotonic() + timeout
    rounds = 0
    try:
        while True:
            rounds += 1
            await pusher.drain_once()
            pending = await pool.fetchval(
                "SELECT count(*) FROM consent_event WHERE state='pending'")
            if not pending:
                return rounds
            if time.monotonic() > deadline:
                raise AssertionError(f"{pending} events still pending")
            await pool.execute(
                "UPDATE consent_event SET next_attempt_at = now(), lease_until = NULL"
                " WHERE state = 'pending' AND last_error_code IS DISTINCT FROM "
                "'H084' AND consent_date <= now()")
            await pool.execute("UPDATE iys_batch SET next_poll_at = now() WHERE done_at IS NULL")
            await asyncio.sleep(0.01)
    finally:
        await pusher.client.close()


def requests(sb: SandboxServer, fragment: str) -> int:
    """Requests the sandbox counted whose "METHOD route status" contains ``fragment``."""
    return sum(n for k, n in sb.state.requests.items() if fragment in k)


def adds(sb: SandboxServer) -> int:
    return requests(sb, "POST /v2/sps/{iys}/brands/{brand}/consents ")


async def states(pool: asyncpg.Pool) -> list[str]:
    return [r["state"] for r in await pool.fetch("SELECT state FROM consent_event ORDER BY id")]


async def warm_token(pool: asyncpg.Pool, sb: SandboxServer) -> None:
    """Store a token first, so faults aimed at consent adds do not hit the token call."""
    client = IysClient(pool, settings(sb))
    await client.access_token()
    await client.close()


async def bulk_rets(db: asyncpg.Pool, first: int, last: int, state: str) -> None:
    """RET events for recipients number ``first`` to ``last`` (one SMS for all), in ``state``:
    tables of tens of thousands of rows in a statement, for the planner's sake."""
    message_id = await db.fetchval(
        "INSERT INTO mo_message (link, received_at, completed_at, outcome) "
        "VALUES ('t', now(), now(), 'consent') RETURNING id")
    await db.execute(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, received_at, consent_date, deadline_at, state)
           SELECT $1, 'acme', 700001, 700001, '+90532' || lpad(i::text, 7, '0'), 'BIREYSEL',
                  'MESAJ', 'RET', now(), now(), now() + interval '3 days', $4
             FROM generate_series($2::int, $3::int) AS i""", message_id, first, last, state)

"""İYS push against the sandbox over real HTTP and a real PostgreSQL (issue #5)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from inbound import store as inbound_store
from inbound.service import DEMO_RULES
from iys_push import calendar
from iys_push.client import IysClient, IysSettings
from iys_push.pusher import Pusher, requeue_failed
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer, seed_consent
from keywords import RuleSet

RULES = RuleSet.from_toml(DEMO_RULES.read_text(encoding="utf-8"))
ALICE = "+905321234567"
BOB = "+905551112233"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(batch_result_delay=0)) as sb:
        yield sb


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    async with pool.acquire() as conn:
        await inbound_store.replace_rules(conn, RULES.to_dict())
    return pool


def settings(sb: SandboxServer, **overrides: object) -> IysSettings:
    base = {"base_url": sb.url, "username": "sandbox", "password": "sandbox", "timeout": 2.0,
            "requests_per_second": 8.0, "batch_threshold": 50, "batch_poll_delay": 0.2,
            "lease_seconds": 30.0}
    base.update(overrides)
    return IysSettings(**base)  # type: ignore[arg-type]


async def add_event(pool: asyncpg.Pool, recipient: str, status: str, *,
                    received_at: datetime | None = None, brand: str = "acme") -> int:
    received_at = received_at or datetime.now(UTC)
    message_id = await pool.fetchval(
        "INSERT INTO mo_message (link, received_at, completed_at, sender, outcome) "
        "VALUES ('t', $1, $1, $2, 'consent') RETURNING id", received_at, recipient)
    return await pool.fetchval(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, received_at, consent_date, deadline_at)
           SELECT $1, id, iys_code, brand_code, $2, 'BIREYSEL', 'MESAJ', $3, $4, $4, $5
             FROM brand WHERE id = $6 RETURNING id""",
        message_id, recipient, status, received_at, calendar.deadline_for(received_at), brand)


async def drain(pusher: Pusher, pool: asyncpg.Pool, timeout: float = 60) -> None:
    """Run the pusher until nothing is pending; retries are made due at once (no backoff
    waits in tests), polling with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        await pusher.drain_once()
        pending = await pool.fetchval("SELECT count(*) FROM consent_event WHERE state='pending'")
        if not pending:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{pending} events still pending")
        await pool.execute("UPDATE consent_event SET next_attempt_at = now(), lease_until = NULL"
                           " WHERE state = 'pending' AND next_attempt_at < now() + interval '1h'")
        await asyncio.sleep(0.05)


def adds(sb: SandboxServer) -> int:
    return sum(n for k, n in sb.state.requests.items() if k.startswith("POST /v2/sps/{iys}"
                                                                     "/brands/{brand}/consents "))


async def states(pool: asyncpg.Pool) -> list[str]:
    return [r["state"] for r in await pool.fetch("SELECT state FROM consent_event ORDER BY id")]


async def test_onay_is_accepted_with_transaction_id_and_evidence(sandbox: SandboxServer,
                                                                  db: asyncpg.Pool) -> None:
    await add_event(db, BOB, "ONAY")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    row = await db.fetchrow("SELECT * FROM consent_event")
    assert row["state"] == "accepted" and len(row["iys_transaction_id"]) == 64
    attempt = await db.fetchrow("SELECT * FROM iys_attempt WHERE event_id = $1", row["id"])
    assert attempt["http_status"] == 200 and attempt["request"]["recipient"] == BOB
    assert attempt["request"]["source"] == "HS_MESAJ"
    assert set(attempt["request"]) == {"consentDate", "source", "recipient", "recipientType",
                                       "status", "type"}  # optional fields omitted
    assert [m.status for m in sandbox.state.movements_for(700001, BOB)] == ["ONAY"]


async def test_ret_with_no_onay_in_iys_is_not_needed_and_never_added(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_event(db, BOB, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["not_needed"]
    assert adds(sandbox) == 0  # only the status question was asked
    assert sandbox.state.movements_for(700001, BOB) == []
    # the view now knows: a second RET costs no request at all
    before = sum(sandbox.state.requests.values())
    await add_event(db, BOB, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["not_needed", "not_needed"]
    assert sum(sandbox.state.requests.values()) == before


async def test_izin_then_ret_in_one_second_arrive_in_order_with_increasing_dates(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    moment = datetime.now(UTC).replace(microsecond=100_000)
    await add_event(db, BOB, "ONAY", received_at=moment)
    await add_event(db, BOB, "RET", received_at=moment + timedelta(milliseconds=500))
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted", "accepted"]
    movements = sandbox.state.movements_for(700001, BOB)
    assert [m.status for m in movements] == ["ONAY", "RET"]
    assert movements[1].consent_date - movements[0].consent_date == timedelta(seconds=1)
    received = await db.fetch("SELECT received_at FROM consent_event ORDER BY id")
    assert received[1]["received_at"] == moment + timedelta(milliseconds=500)  # kept as evidence


async def test_business_rule_failure_is_failed_not_retried_and_can_be_requeued(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    # İYS already has a newer movement for the key (e.g. the citizen via e-Devlet): H178
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE, status="ONAY")
    now = sandbox.state.clock.now()
    key = (700001, ALICE, "BIREYSEL", "MESAJ")
    sandbox.state.current[key].consent_date = now + timedelta(minutes=5)
    await add_event(db, ALICE, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    row = await db.fetchrow("SELECT state, last_error_code, attempts FROM consent_event")
    assert (row["state"], row["last_error_code"], row["attempts"]) == ("failed", "H178", 1)
    sandbox.state.current[key].consent_date = now - timedelta(days=1)
    assert await requeue_failed(db, brand_id="acme") == 1
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted"]


async def test_5xx_and_429_storms_are_retried_and_accepted_exactly_once(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    for i in range(10):
        await add_event(db, f"+90555111{i:04d}", "ONAY")
    warm = IysClient(db, settings(sandbox))
    await warm.access_token()  # the storm hits consent adds, not the token call
    await warm.close()
    sandbox.faults.next_errors.extend(["H103", "H470", "H192", "H124", "H123"] * 4)
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted"] * 10
    assert len(sandbox.state.movements) == 10  # none lost, none sent twice
    retried = await db.fetchval("SELECT count(*) FROM iys_attempt WHERE http_status >= 429 "
                                "OR code = 'H123'")
    assert retried == 20 and not sandbox.faults.next_errors


async def test_timeouts_are_retried(sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    await add_event(db, BOB, "ONAY")
    warm = IysClient(db, settings(sandbox))
    await warm.access_token()  # the token is shared through the database
    await warm.close()
    sandbox.faults.hang_next, sandbox.faults.hang_seconds = 1, 3.0
    await drain(Pusher(db, "", settings(sandbox, timeout=0.5), worker_id="w1"), db)
    assert await states(db) == ["accepted"]
    assert await db.fetchval("SELECT count(*) FROM iys_attempt WHERE http_status IS NULL") == 1
    assert len(sandbox.state.movements_for(700001, BOB)) == 1


async def test_two_pushers_share_one_token(sandbox: SandboxServer, db: asyncpg.Pool,
                                           dsn: str) -> None:
    from inbound.db import connect_pool

    other_pool = await connect_pool(dsn, min_size=1, max_size=4)
    try:
        for i in range(6):
            await add_event(db, f"+90555222{i:04d}", "ONAY")
        a = Pusher(db, dsn, settings(sandbox), worker_id="a")
        b = Pusher(other_pool, dsn, settings(sandbox), worker_id="b")
        await asyncio.gather(a.drain_once(), b.drain_once())
        await drain(a, db)
        token_calls = sum(n for k, n in sandbox.state.requests.items() if "/oauth2/token" in k)
        assert token_calls == 1
        assert await states(db) == ["accepted"] * 6
    finally:
        await other_pool.close()


async def test_h084_halts_token_calls_for_an_hour(sandbox: SandboxServer,
                                                  db: asyncpg.Pool) -> None:
    sandbox.state.config.token_calls_per_hour = 0  # İYS answers the next token call with H084
    await add_event(db, BOB, "ONAY")
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await pusher.drain_once()
    await pusher.drain_once()
    row = await db.fetchrow("SELECT halted_until FROM iys_token")
    assert row["halted_until"] > datetime.now(UTC) + timedelta(minutes=59)
    event = await db.fetchrow("SELECT state, last_error_code, next_attempt_at FROM consent_event")
    assert (event["state"], event["last_error_code"]) == ("pending", "H084")
    assert event["next_attempt_at"] >= row["halted_until"] - timedelta(seconds=1)
    client = IysClient(db, settings(sandbox))
    with pytest.raises(Exception, match="H084"):
        await client.access_token()
    await client.close()
    token_calls = sum(n for k, n in sandbox.state.requests.items() if "/oauth2/token" in k)
    assert token_calls == 1  # only the call that was refused


async def test_outage_of_a_simulated_day_every_ret_accepted_before_its_deadline(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    received = datetime.now(UTC) - timedelta(days=1)  # received yesterday, İYS down since
    recipients = [f"+90555333{i:04d}" for i in range(5)]
    for r in recipients:
        await seed_consent(sandbox, brand_code=700001, recipient=r, status="ONAY")
        await add_event(db, r, "RET", received_at=received)
    sandbox.faults.outage_from = sandbox.state.clock.now() - timedelta(days=1)
    sandbox.faults.outage_until = sandbox.state.clock.now() + timedelta(hours=1)
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await pusher.drain_once()
    assert set(await states(db)) == {"pending"}
    sandbox.state.clock.advance(2 * 3600)  # the outage ends
    await drain(pusher, db)
    rows = await db.fetch("SELECT state, deadline_at, updated_at FROM consent_event")
    assert all(r["state"] == "accepted" and r["updated_at"] <= r["deadline_at"] for r in rows)


async def test_ten_thousand_ret_backlog_drains_through_batches_within_the_rate_limit(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    n = 10_000
    received = datetime.now(UTC) - timedelta(minutes=5)
    for i in range(n):
        from iys_push.sandbox.app import seed_consent_now

        seed_consent_now(sandbox.state, 700001, f"+9055{i:08d}")
    message_id = await db.fetchval(
        "INSERT INTO mo_message (link, received_at, completed_at, outcome) "
        "VALUES ('t', $1, $1, 'consent') RETURNING id", received)
    await db.execute(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, received_at, consent_date, deadline_at)
           SELECT $1, 'acme', 700001, 700001, '+9055' || lpad(g::text, 8, '0'), 'BIREYSEL',
                  'MESAJ', 'RET', $2, $2, $3 FROM generate_series(0, $4 - 1) g""",
        message_id, received, calendar.deadline_for(received), n)
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await drain(pusher, db, timeout=120)
    assert await db.fetchval("SELECT count(*) FROM consent_event WHERE state = 'accepted'") == n
    batch_posts = sum(c for k, c in sandbox.state.requests.items() if "consents/request 202" in k)
    assert batch_posts == n // 1000
    assert sandbox.state.max_per_second <= 10
    assert not any(" 429" in k for k in sandbox.state.requests)
    print(f"\n10,000 RETs: {batch_posts} batch requests, "
          f"{sum(sandbox.state.requests.values())} requests in all, "
          f"max {sandbox.state.max_per_second}/s")


async def test_puller_records_citizen_changes_and_they_inform_the_pusher(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    from iys_push.puller import Puller
    from iys_push.sandbox.app import seed_consent_now

    seed_consent_now(sandbox.state, 700001, BOB)
    sandbox.state.clock.advance(-7200)  # the citizen's RET via 3338, two hours ago
    from iys_push.sandbox.rules import Consent

    sandbox.state.record(700001, Consent(BOB, "MESAJ", "RET", "BIREYSEL", None,
                                         sandbox.state.clock.now(), {}),
                         source="IYS_KISAMESAJ")
    sandbox.state.clock.advance(7200)
    puller = Puller(db, settings(sandbox))
    assert await puller.pull_once(700001, 700001) == 1
    assert await puller.pull_once(700001, 700001) == 0  # the cursor was kept
    await puller.client.close()
    change = await db.fetchrow("SELECT source, status FROM iys_change")
    assert (change["source"], change["status"]) == ("IYS_KISAMESAJ", "RET")
    before = sum(sandbox.state.requests.values())
    await add_event(db, BOB, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["not_needed"]
    assert sum(sandbox.state.requests.values()) == before  # the view knew: nothing sent

"""The pusher against the sandbox over real HTTP and a real PostgreSQL (issue #5)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import asyncpg

from iys_push import metrics, store
from iys_push.events import ClaimedEvent
from iys_push.pusher import (
    Pusher,
    requeue_failed,
)
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.timefmt import format_iys
from tests.iys_push.conftest import (
    ALICE,
    BOB,
    add_event,
    adds,
    bulk_rets,
    drain,
    requests,
    settings,
    states,
    warm_token,
)


async def test_onay_is_accepted_with_transaction_id_and_the_exact_body_as_evidence(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    received = datetime.now(UTC) - timedelta(seconds=3)
    event_id = await add_event(db, BOB, "ONAY", received_at=received)
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    row = await db.fetchrow("SELECT * FROM consent_event")
    assert row["state"] == "accepted" and len(row["iys_transaction_id"]) == 64
    assert row["iys_creation_date"] == format_iys(sandbox.state.movements[0].creation_date)
    attempt = await db.fetchrow("SELECT * FROM iys_attempt WHERE event_id = $1", event_id)
    assert attempt["http_status"] == 200 and attempt["latency_ms"] > 0
    assert attempt["path"] == "/v2/sps/700001/brands/700001/consents"
    # Turkey time to the second, +905… recipient, optional fields omitted (never null)
    assert attempt["request"] == {"consentDate": format_iys(received), "source": "HS_MESAJ",
                                  "recipient": BOB, "recipientType": "BIREYSEL",
                                  "status": "ONAY", "type": "MESAJ"}
    assert [m.status for m in sandbox.state.movements_for(700001, BOB)] == ["ONAY"]


async def test_ret_with_no_onay_in_iys_is_not_needed_and_never_added(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_event(db, BOB, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    await add_event(db, BOB, "RET")  # RET over RET: likewise
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["not_needed", "not_needed"]
    assert adds(sandbox) == 0 and sandbox.state.movements_for(700001, BOB) == []
    # only the batch status endpoint was asked (a non-ONAY view is always re-asked: İYS-side
    # ONAYs of the last hour are invisible to the changes feed)
    assert requests(sandbox, "/status/{type} 200") == 2
    codes = [r["last_error_code"] for r in await db.fetch("SELECT * FROM consent_event")]
    assert codes == ["NO_ONAY", "NO_ONAY"]


async def test_ret_over_an_onay_given_before_our_service_is_sent(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE, status="ONAY")
    await add_event(db, ALICE, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted"]
    assert [m.status for m in sandbox.state.movements_for(700001, ALICE)] == ["ONAY", "RET"]
    view = await db.fetchrow("SELECT status, origin FROM iys_key_state")
    assert (view["status"], view["origin"]) == ("RET", "push")


async def test_izin_then_ret_within_one_second_arrive_in_order_one_second_apart(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    moment = datetime.now(UTC).replace(microsecond=100_000) - timedelta(seconds=2)
    await add_event(db, BOB, "ONAY", received_at=moment)
    await add_event(db, BOB, "RET", received_at=moment + timedelta(milliseconds=500))
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted", "accepted"]
    movements = sandbox.state.movements_for(700001, BOB)
    assert [m.status for m in movements] == ["ONAY", "RET"]
    assert movements[1].consent_date - movements[0].consent_date == timedelta(seconds=1)
    rows = await db.fetch("SELECT received_at, consent_date FROM consent_event ORDER BY id")
    assert rows[1]["received_at"] == moment + timedelta(milliseconds=500)  # kept as evidence
    assert rows[1]["consent_date"] == moment.replace(microsecond=0) + timedelta(seconds=1)


async def test_business_rule_failure_is_failed_once_alerts_and_can_be_requeued(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    # a brand whose İYS code the API user may not use: 403 H353 (H178 used to be the example
    # here; issue #24 made it a supersession, tests/iys_push/test_supersession.py)
    await db.execute("INSERT INTO brand (id, name, iys_code, brand_code) "
                     "VALUES ('gamma', 'Gamma', 799999, 799999)")
    alert = metrics.BUSINESS_FAILURES.labels("gamma", "H353")
    before = alert._value.get()
    await add_event(db, ALICE, "ONAY", brand="gamma")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    row = await db.fetchrow("SELECT state, last_error_code, attempts FROM consent_event")
    assert (row["state"], row["last_error_code"], row["attempts"]) == ("failed", "H353", 1)
    assert alert._value.get() == before + 1
    # a person fixed it (the brand's codes were wrong)
    await db.execute("UPDATE consent_event SET iys_code = 700001, brand_code = 700001")
    assert await requeue_failed(db, brand_id="gamma") == 1
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted"]


async def test_what_iys_would_refuse_for_ever_is_failed_without_a_request(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_event(db, "+9005321234567", "ONAY")  # the +9005… pitfall (IYS_API.md §2.1)
    await add_event(db, BOB, "ONAY", received_at=datetime.now(UTC) - timedelta(days=10))
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    rows = await db.fetch("SELECT state, last_error_code FROM consent_event ORDER BY id")
    assert [(r["state"], r["last_error_code"]) for r in rows] == [
        ("failed", "LOCAL_RECIPIENT"), ("failed", "LOCAL_H467")]
    assert sum(sandbox.state.requests.values()) == 0


async def test_a_temporary_error_leaves_the_event_pending_with_a_later_attempt(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await warm_token(db, sandbox)
    await add_event(db, BOB, "ONAY")
    sandbox.faults.next_errors.append("H192")  # 503
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await pusher.drain_once()
    await pusher.client.close()
    row = await db.fetchrow("SELECT * FROM consent_event")
    assert (row["state"], row["last_error_code"], row["attempts"]) == ("pending", "H192", 1)
    assert row["next_attempt_at"] > datetime.now(UTC) and row["lease_owner"] is None


async def test_5xx_and_429_storms_are_retried_and_accepted_exactly_once(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    for i in range(10):
        await add_event(db, f"+90555111{i:04d}", "ONAY")
    await warm_token(db, sandbox)
    sandbox.faults.next_errors.extend(["H103", "H470", "H192", "H124", "H123"] * 4)
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted"] * 10
    assert len(sandbox.state.movements) == 10  # none lost, none sent twice
    refused = await db.fetchval("SELECT count(*) FROM iys_attempt WHERE http_status >= 429 "
                                "OR code = 'H123'")
    assert refused == 20 and not sandbox.faults.next_errors


async def test_timeouts_are_retried_and_the_resend_is_not_a_second_movement(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_event(db, BOB, "ONAY")
    await warm_token(db, sandbox)
    sandbox.faults.hang_next, sandbox.faults.hang_seconds = 1, 1.5
    await drain(Pusher(db, "", settings(sandbox, timeout=0.5), worker_id="w1"), db)
    assert await states(db) == ["accepted"]
    assert await db.fetchval("SELECT count(*) FROM iys_attempt WHERE http_status IS NULL") == 1
    assert len(sandbox.state.movements_for(700001, BOB)) == 1


async def test_a_crashed_workers_claim_is_taken_over_when_its_lease_expires(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_event(db, BOB, "ONAY")
    crashed = await store.claim(db, 10, "crashed", 30.0)  # claimed, then the worker died
    assert len(crashed) == 1
    other = Pusher(db, "", settings(sandbox), worker_id="w2")
    assert await other.drain_once() == 0  # the lease still holds
    await db.execute("UPDATE consent_event SET lease_until = now() - interval '1 second'")
    assert await other.drain_once() == 1
    await other.client.close()
    assert await states(db) == ["accepted"]


async def test_the_nearest_deadline_is_served_first(db: asyncpg.Pool) -> None:
    await add_event(db, BOB, "ONAY")
    older = await add_event(db, ALICE, "RET", received_at=datetime.now(UTC) - timedelta(days=2))
    first = await store.claim(db, 1, "w1", 30.0)
    assert [r.id for r in first] == [older]


async def outbox_plan(db: asyncpg.Pool, query: str, *args: object,
                      as_the_pusher_runs_it: bool) -> str:
    transaction = store.claim_transaction(db) if as_the_pusher_runs_it else plain(db)
    async with transaction as conn:
        rows = await conn.fetch("EXPLAIN " + query, *args)
    return "\n".join(r[0] for r in rows)


@contextlib.asynccontextmanager
async def plain(db: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with db.acquire() as conn, conn.transaction():
        yield conn


async def test_claim_and_due_count_walk_the_deadline_index_even_when_statistics_are_stale(
    db: asyncpg.Pool
) -> None:
    # A RET wave on a table of settled events: statistics taken before it say that 2 % is
    # pending, autoanalyze is far behind (here: off), 20,000 events are pending.
    await db.execute("ALTER TABLE consent_event SET (autovacuum_enabled = false)")
    await bulk_rets(db, 1, 5000, "accepted")
    await bulk_rets(db, 5001, 5100, "pending")
    await db.execute("ANALYZE consent_event")
    await bulk_rets(db, 5101, 25000, "pending")
    # the test's premise: left to the statistics, the planner sorts every pending event for
    # a claim
    claim = (store.SQL.claim, 1000, "w1", 30.0)
    assert "Sort" in await outbox_plan(db, *claim, as_the_pusher_runs_it=False)
    for query, *args in (claim, (store.SQL.due_count, 1001)):
        plan = await outbox_plan(db, query, *args, as_the_pusher_runs_it=True)
        assert "Index Scan using consent_event_due_idx" in plan
        assert "Index Scan using consent_event_retry_idx" in plan
        assert "Nested Loop Anti Join" in plan and "Index Scan using consent_event_key_idx" in plan
        # the only sort left: the claim's at most twice-its-LIMIT candidates by deadline
        assert plan.count("Sort  (") <= (1 if query is store.SQL.claim else 0), plan
        assert not any(word in plan for word in ("Bitmap", "Hash"))
    assert await store.due_count(db, 1001) == 1001
    claimed = await store.claim(db, 1000, "w1", 30.0)
    assert len(claimed) == 1000


async def test_a_claimed_event_has_the_claim_statements_columns_in_order(
    db: asyncpg.Pool
) -> None:
    # ClaimedEvent is built by column name; a column added to the claim and not to the
    # class (or renamed) would be dropped without a word
    async with db.acquire() as conn:
        claim = [a.name for a in (await conn.prepare(store.SQL.claim)).get_attributes()]
        batch = [a.name for a in (await conn.prepare(store.SQL.batch_events)).get_attributes()]
    names = [f.name for f in fields(ClaimedEvent)]
    assert names[:len(claim)] == claim
    assert set(batch) <= set(names)

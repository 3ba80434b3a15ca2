"""The pusher against the sandbox over real HTTP and a real PostgreSQL (issue #5)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from iys_push import metrics, store
from iys_push.client import IysSettings
from iys_push.events import ClaimedEvent
from iys_push.pusher import (
    BATCH_SIZE,
    GAUGE_INTERVAL,
    GAUGE_MAX_PAUSE,
    OutboxSignal,
    Pusher,
    gauge_pause,
    pause_after,
    requeue_failed,
    update_gauges,
)
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.timefmt import format_iys
from tests.iys_push.conftest import (
    ALICE,
    BOB,
    add_event,
    adds,
    drain,
    poll_until,
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
    await Pusher(db, "", settings(sandbox), worker_id="w1").drain_once()
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
    assert await states(db) == ["accepted"]


async def test_the_nearest_deadline_is_served_first(db: asyncpg.Pool) -> None:
    await add_event(db, BOB, "ONAY")
    older = await add_event(db, ALICE, "RET", received_at=datetime.now(UTC) - timedelta(days=2))
    first = await store.claim(db, 1, "w1", 30.0)
    assert [r.id for r in first] == [older]


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


@contextlib.asynccontextmanager
async def idle_pusher(sandbox: SandboxServer, db: asyncpg.Pool, dsn: str
                      ) -> AsyncIterator[Pusher]:
    """A running pusher, listening, past its first round, polling only once a minute: what
    it pushes within seconds it was woken for."""
    pusher = Pusher(db, dsn, settings(sandbox, poll_interval=60.0), worker_id="w1")
    task = asyncio.create_task(pusher.run())
    try:
        await poll_until(lambda: _listening(db), 10, "the LISTEN connection")
        await poll_until(lambda: _idle(db), 10, "the first round to end")
        yield pusher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_run_ends_with_its_helper_when_the_listen_dies(
    sandbox: SandboxServer, db: asyncpg.Pool, dsn: str
) -> None:
    # a pusher that no longer hears NOTIFYs must not go on silently: run() ends with what
    # ended the helper, and the service's supervision starts the pusher again (inbound.supervise)
    pusher = Pusher(db, dsn, settings(sandbox, poll_interval=60.0), worker_id="w1")

    async def listen_dies() -> None:
        raise RuntimeError("cannot switch to state 11")

    pusher._listen = listen_dies  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="cannot switch to state 11"):
        await asyncio.wait_for(pusher.run(), 10)


async def test_run_wakes_on_notify_without_waiting_for_the_poll(
    sandbox: SandboxServer, db: asyncpg.Pool, dsn: str
) -> None:
    async with idle_pusher(sandbox, db, dsn):
        async with db.acquire() as conn, conn.transaction():  # as another process does
            await add_event(conn, BOB, "ONAY")
            await conn.execute("SELECT pg_notify('iys_outbox', '')")
        await poll_until(lambda: _accepted(db), 10, "the event to be accepted")


async def test_run_wakes_on_its_own_process_signal_without_a_notify(
    sandbox: SandboxServer, db: asyncpg.Pool, dsn: str
) -> None:
    # the MO path of the same process calls OutboxSignal -> Pusher.wake after its commit
    async with idle_pusher(sandbox, db, dsn) as pusher:
        await add_event(db, BOB, "ONAY")
        OutboxSignal(db, local=pusher.wake)()  # its NOTIFY task is not running: wake only
        await poll_until(lambda: _accepted(db), 10, "the event to be accepted")


async def test_outbox_signal_notifies_other_processes_once_for_many_commits(
    db: asyncpg.Pool, dsn: str
) -> None:
    listener = await asyncpg.connect(dsn)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("iys_outbox", lambda _c, _p, channel, _m: heard.put_nowait(channel))
    woken: list[bool] = []
    in_interval = asyncio.Event()
    interval_over = asyncio.Event()

    async def interval(seconds: float) -> None:  # held open until the test ends it
        assert seconds == 3600
        in_interval.set()
        await interval_over.wait()

    signal = OutboxSignal(db, local=lambda: woken.append(True), interval=3600, sleep=interval)
    for _ in range(3):  # three batches commit before the NOTIFY task runs
        signal()
    task = asyncio.create_task(signal.run())
    try:
        assert await asyncio.wait_for(heard.get(), 10) == "iys_outbox"  # one for the three
        await asyncio.wait_for(in_interval.wait(), 10)  # then the interval, before any other
        signal()                                # within the interval: no NOTIFY yet ...
        assert woken == [True, True, True, True]  # (the local pusher: every time, at once)
        interval_over.set()
        assert await asyncio.wait_for(heard.get(), 10) == "iys_outbox"  # ... but after it
        assert heard.empty()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await listener.close()


def test_a_busy_pusher_coalesces_small_rounds_and_keeps_its_pace_on_a_backlog() -> None:
    paced = IysSettings(base_url="http://x", username="u", password="p", coalesce=0.25,
                        max_events_per_second=1000)
    assert pause_after(3, paced) == 0.25               # a few events: gather the next commits
    assert pause_after(600, paced) == 0.6              # more: the pace, not the coalescing
    assert pause_after(BATCH_SIZE, paced) == BATCH_SIZE / 1000  # a full round: the pace only
    fast = IysSettings(base_url="http://x", username="u", password="p", coalesce=0.25,
                       max_events_per_second=100_000)
    assert pause_after(BATCH_SIZE, fast) == BATCH_SIZE / 100_000
    assert pause_after(3, fast) == 0.25


def test_the_push_side_keeps_the_yielding_pace_while_the_mo_intake_is_above_the_limit() -> None:
    paced = IysSettings(base_url="http://x", username="u", password="p", coalesce=0.25,
                        max_events_per_second=1000, yield_to_intake_above=2000,
                        yield_events_per_second=100)
    assert pause_after(BATCH_SIZE, paced, intake=1999) == BATCH_SIZE / 1000
    assert pause_after(BATCH_SIZE, paced, intake=2001) == BATCH_SIZE / 100
    assert pause_after(3, paced, intake=2001) == 0.25      # still at least the coalescing
    never = IysSettings(base_url="http://x", username="u", password="p", coalesce=0.25,
                        max_events_per_second=1000, yield_to_intake_above=0)
    assert pause_after(BATCH_SIZE, never, intake=1e9) == BATCH_SIZE / 1000


async def test_a_pause_at_the_yielding_pace_ends_when_the_mo_wave_does() -> None:
    # 1,000 events at 10 a second would be a 100 s pause; the intake is looked at again
    # every `coalesce` seconds and the wave is over at the second look
    looks: list[float] = []

    def intake() -> float:
        looks.append(5000.0 if not looks else 0.0)
        return looks[-1]

    quick = IysSettings(base_url="http://x", username="u", password="p", coalesce=0.01,
                        max_events_per_second=100_000, yield_to_intake_above=2000,
                        yield_events_per_second=10)
    pusher = Pusher(None, "", quick, worker_id="w1", intake=intake)  # type: ignore[arg-type]
    yielding: list[float] = []
    real_set = metrics.PUSH_YIELDING.set
    metrics.PUSH_YIELDING.set = yielding.append  # type: ignore[method-assign]
    try:
        await asyncio.wait_for(pusher._pause(BATCH_SIZE), timeout=10)
    finally:
        metrics.PUSH_YIELDING.set = real_set  # type: ignore[method-assign]
    assert looks[0] == 5000.0 and len(looks) >= 2
    assert yielding[0] is True and yielding[-1] is False


def test_key_state_columns_keep_one_row_per_key_the_later_one() -> None:
    first = (1, "+905321234567", "BIREYSEL", "MESAJ", "ONAY", None, None, "status")
    later = (1, "+905321234567", "BIREYSEL", "MESAJ", "RET", None, None, "status")
    other = (1, "+905329999999", "BIREYSEL", "MESAJ", "ONAY", None, None, "status")
    assert store.key_state_columns([first, other, later]) == [
        [1, 1], ["+905321234567", "+905329999999"], ["BIREYSEL"] * 2, ["MESAJ"] * 2,
        ["RET", "ONAY"], [None, None], [None, None], ["status", "status"],
        [None, None], [None, None]]   # no transaction id and creation date: padded
    assert store.key_state_columns([]) == [[] for _ in range(10)]


async def _idle(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE "
        "'%consent_event%' AND pid <> pg_backend_pid() AND datname = current_database()")


async def _listening(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                                    "'LISTEN%' AND datname = current_database()"))


async def _accepted(pool: asyncpg.Pool) -> bool:
    return await states(pool) == ["accepted"]


async def test_compliance_gauges_show_the_deadline_and_the_share_of_the_window_used(
    db: asyncpg.Pool
) -> None:
    await add_event(db, BOB, "RET")
    old = await add_event(db, ALICE, "RET", received_at=datetime.now(UTC) - timedelta(days=1))
    # 95 % of ALICE's window used
    await db.execute("UPDATE consent_event SET received_at = now() - interval '95 hours', "
                     "deadline_at = now() + interval '5 hours' WHERE id = $1", old)
    await update_gauges(db)
    assert metrics.BACKLOG._value.get() == 2
    assert metrics.PAST_HALF._value.get() == 1 and metrics.PAST_NINETY._value.get() == 1
    assert 4.9 * 3600 < metrics.NEAREST_DEADLINE._value.get() <= 5 * 3600
    assert metrics.OVERDUE._value.get() == 0


def test_the_outbox_gauges_are_updated_less_often_when_their_query_is_slow() -> None:
    # the compliance query reads every pending event: a huge backlog makes it slow, and every
    # process runs it; it may take 2 % of the time at most, and runs at least once a minute
    assert gauge_pause(0.015) == GAUGE_INTERVAL == 5          # 20,000 pending, measured
    assert abs(gauge_pause(0.75) - 37.5) < 1e-9                # about a million pending
    assert gauge_pause(30.0) == GAUGE_MAX_PAUSE == 60          # a database that hangs


async def test_the_failed_gauge_counts_from_the_tally_not_the_events(
    db: asyncpg.Pool
) -> None:
    await bulk_rets(db, 1, 19980, "accepted")
    await bulk_rets(db, 19981, 20000, "failed")
    await db.execute("ANALYZE consent_event")
    plan = "\n".join(r[0] for r in await db.fetch("EXPLAIN " + store.SQL.failed_count))
    assert "consent_event_tally" in plan and " consent_event " not in plan + " "
    await update_gauges(db)
    assert metrics.FAILED._value.get() == 20
    # a requeued failure leaves the count (the tally follows UPDATEs)
    await db.execute("UPDATE consent_event SET state = 'pending' WHERE id = "
                     "(SELECT min(id) FROM consent_event WHERE state = 'failed')")
    await update_gauges(db)
    assert metrics.FAILED._value.get() == 19


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

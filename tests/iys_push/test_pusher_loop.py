"""The pusher's loop against the sandbox and a real PostgreSQL (issue #5): what wakes it,
its pace while MOs pour in, and its gauges."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from iys_push import metrics, store
from iys_push.client import IysSettings
from iys_push.pusher import (
    BATCH_SIZE,
    GAUGE_INTERVAL,
    GAUGE_MAX_PAUSE,
    OutboxSignal,
    Pusher,
    gauge_pause,
    pause_after,
    update_gauges,
)
from iys_push.sandbox.testing import SandboxServer
from tests.iys_push.conftest import (
    ALICE,
    BOB,
    add_event,
    bulk_rets,
    poll_until,
    settings,
    states,
)


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

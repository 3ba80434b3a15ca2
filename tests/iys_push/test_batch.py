"""The batch path (a campaign's RET wave) and a day-long İYS outage."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg

from iys_push import calendar
from iys_push.client import IysClient
from iys_push.pusher import Pusher
from iys_push.sandbox.testing import SandboxServer, seed_consent
from tests.iys_push.conftest import add_event, drain, requests, settings, states


async def add_rets(pool: asyncpg.Pool, sb: SandboxServer, n: int, *, onay: bool = True,
                   received: datetime | None = None) -> None:
    """``n`` RETs from distinct recipients (each with an ONAY in İYS when ``onay``)."""
    received = received or datetime.now(UTC) - timedelta(minutes=5)
    recipients = [f"+9055{i:08d}" for i in range(n)]
    if onay:
        for r in recipients:
            await seed_consent(sb, brand_code=700001, recipient=r)
    message_id = await pool.fetchval(
        "INSERT INTO mo_message (link, received_at, completed_at, outcome) "
        "VALUES ('t', $1, $1, 'consent') RETURNING id", received)
    await pool.execute(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, received_at, consent_date, deadline_at)
           SELECT $1, 'acme', 700001, 700001, r, 'BIREYSEL', 'MESAJ', 'RET', $2, $2, $3
             FROM unnest($4::text[]) r""",
        message_id, received, calendar.deadline_for(received), recipients)


async def test_ten_thousand_ret_backlog_drains_through_batches_within_the_rate_limit(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    n = 10_000
    await add_rets(db, sandbox, n)
    started = time.monotonic()
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db, timeout=80)
    elapsed = time.monotonic() - started
    assert await db.fetchval("SELECT count(*) FROM consent_event WHERE state = 'accepted'") == n
    assert len(sandbox.state.movements) == 2 * n  # the seeded ONAYs and one RET each
    batch_posts = requests(sandbox, "consents/request 202")
    assert batch_posts == n // 1000 and requests(sandbox, "POST /v2/sps/{iys}/brands/{brand}"
                                                          "/consents 200") == 0
    assert sandbox.state.max_per_second <= 10 and requests(sandbox, " 429") == 0
    total = sum(sandbox.state.requests.values())
    print(f"\n10,000 RETs: {batch_posts} batch requests, {total} requests in all, "
          f"max {sandbox.state.max_per_second}/s, {elapsed:.1f} s")


async def test_batch_results_are_matched_by_the_index_each_item_was_sent_with(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_rets(db, sandbox, 60)
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await pusher.drain_once()
    (batch,) = sandbox.state.batches.values()
    # İYS processes the list (the first look at its results), but says so only in part:
    client = IysClient(db, settings(sandbox))
    full = (await client.batch_result(700001, 700001, batch.request_id)).body
    await client.close()
    # İYS has finished only the odd items: the even ones are still enqueue
    batch.results = [r if r["index"] % 2 else {"index": r["index"], "status": "enqueue"}
                     for r in full]
    await db.execute("UPDATE iys_batch SET next_poll_at = now()")
    await pusher.drain_once()
    assert sorted(await states(db)).count("accepted") == 30
    batch.results = full
    await db.execute("UPDATE iys_batch SET next_poll_at = now()")
    await pusher.drain_once()
    rows = await db.fetch("SELECT recipient, iys_transaction_id, state FROM consent_event")
    by_recipient = {m.recipient: m.transaction_id for m in sandbox.state.movements
                    if m.status == "RET"}
    assert all(r["state"] == "accepted" for r in rows)
    assert all(r["iys_transaction_id"] == by_recipient[r["recipient"]] for r in rows)
    assert await db.fetchval("SELECT count(*) FROM iys_batch WHERE done_at IS NULL") == 0


async def test_a_batch_wave_without_onay_is_settled_by_status_queries_alone(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_rets(db, sandbox, 1500, onay=False)
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert set(await states(db)) == {"not_needed"}
    assert requests(sandbox, "consents/request") == 0
    assert requests(sandbox, "/status/{type} 200") == 2  # 1000 recipients a query


async def test_outage_of_a_simulated_day_every_ret_accepted_before_its_deadline(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    received = datetime.now(UTC) - timedelta(days=1)  # received yesterday, İYS down since
    recipients = [f"+90555333{i:04d}" for i in range(5)]
    for r in recipients:
        await seed_consent(sandbox, brand_code=700001, recipient=r, status="ONAY")
        await add_event(db, r, "RET", received_at=received)
    sandbox.faults.outage_from = sandbox.clock.now() - timedelta(days=1)
    sandbox.faults.outage_until = sandbox.clock.now() + timedelta(hours=1)
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    for _ in range(3):  # İYS keeps answering 503: nothing lost, nothing given up
        await pusher.drain_once()
        await db.execute("UPDATE consent_event SET next_attempt_at = now()")
    assert set(await states(db)) == {"pending"}
    assert not await db.fetchval("SELECT count(*) FROM consent_event WHERE next_attempt_at > "
                                 "deadline_at")
    sandbox.clock.advance(2 * 3600)  # the outage ends
    await drain(pusher, db)
    rows = await db.fetch("SELECT state, deadline_at, updated_at FROM consent_event")
    assert all(r["state"] == "accepted" and r["updated_at"] <= r["deadline_at"] for r in rows)
    assert [m.status for m in sandbox.state.movements_for(700001, recipients[0])] == [
        "ONAY", "RET"]


async def test_a_ret_due_before_a_batch_could_be_given_up_goes_as_a_single_add(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_rets(db, sandbox, 60)
    urgent = await db.fetchval("SELECT min(id) FROM consent_event")
    await db.execute("UPDATE consent_event SET deadline_at = now() + interval '90 minutes' "
                     "WHERE id = $1", urgent)
    await Pusher(db, "", settings(sandbox), worker_id="w1").drain_once()
    (batch,) = sandbox.state.batches.values()
    assert len(batch.items) == 59
    row = await db.fetchrow("SELECT state, batch_request_id, iys_transaction_id "
                            "FROM consent_event WHERE id = $1", urgent)
    assert row["state"] == "accepted" and row["batch_request_id"] is None
    assert row["iys_transaction_id"]


async def test_events_behind_a_batched_head_do_not_keep_the_batch_path(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await add_rets(db, sandbox, 60)
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await pusher.drain_once()  # the 60 RETs are now in a batch, waiting for its results
    await db.execute("UPDATE iys_batch SET next_poll_at = now() + interval '1 hour'")
    # each key gets a newer IZIN: waiting behind its RET, so no claim could take it now
    await db.execute(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, received_at, consent_date, deadline_at)
           SELECT message_id, brand_id, iys_code, brand_code, recipient, recipient_type, type,
                  'ONAY', now(), now(), now() + interval '3 days' FROM consent_event""")
    await add_event(db, "+905559990000", "ONAY")
    await pusher.drain_once()
    assert len(sandbox.state.batches) == 1  # no second batch for a lone IZIN
    assert await db.fetchval("SELECT state FROM consent_event WHERE recipient = $1",
                             "+905559990000") == "accepted"

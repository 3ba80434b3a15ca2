"""Issue #24 item 5: supersession is one rule, repeats are settled locally as duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from iys_push import metrics
from iys_push.gauges import requeue_failed, update_gauges
from iys_push.puller import Puller
from iys_push.pusher import Pusher
from iys_push.sandbox.testing import SandboxServer, seed_consent
from tests.iys_push.conftest import ALICE, add_event, adds, drain, requests, settings, states
from tests.iys_push.test_puller import citizen_change

KEY = (700001, ALICE, "BIREYSEL", "MESAJ")
STATUS_QUERIES = "/consents/{recipient_type}/status/{type} 200"
STORED_DATE_QUERIES = "POST /sps/{iys}/brands/{brand}/consents/status "


def business_failures() -> float:
    return sum(s.value for m in metrics.BUSINESS_FAILURES.collect() for s in m.samples
               if s.name.endswith("_total"))


async def the_ret_that_waited_out_an_outage(sandbox: SandboxServer, db: asyncpg.Pool, *,
                                            citizen_onay_hours_ago: float) -> int:
    """The issue's case: our RET (received 3 h ago) waited out an İYS outage while the
    citizen, on İYS's side, gave RET (2.5 h ago) and then ONAY again."""
    event_id = await add_event(db, ALICE, "RET",
                               received_at=datetime.now(UTC) - timedelta(hours=3))
    sandbox.clock.advance(-5 * 3600)
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)  # ONAY five hours ago
    sandbox.clock.advance(5 * 3600)
    await citizen_change(sandbox, ALICE, "RET", hours_ago=2.5)
    await citizen_change(sandbox, ALICE, "ONAY", hours_ago=citizen_onay_hours_ago)
    return event_id


async def settle_quietly(sandbox: SandboxServer, db: asyncpg.Pool) -> list[dict]:
    """Drain; returns the error-level log entries (there must be none)."""
    with structlog.testing.capture_logs() as logs:
        await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    return [entry for entry in logs if entry["log_level"] in ("error", "critical")]


async def test_seen_through_h178_the_event_is_superseded_quietly(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    # a fresh RET (no reason to read İYS's stored date first): the status query says ONAY,
    # the RET is sent, and İYS holds a movement dated after it (H178)
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    sandbox.state.current[KEY].consent_date = sandbox.clock.now() + timedelta(minutes=5)
    failures = business_failures()
    event_id = await add_event(db, ALICE, "RET")
    assert await settle_quietly(sandbox, db) == []
    row = await db.fetchrow("SELECT state, last_error_code FROM consent_event")
    assert (row["state"], row["last_error_code"]) == ("superseded", "H178")
    assert business_failures() == failures
    # the evidence: the add İYS refused, attached to the event
    attempt = await db.fetchrow("SELECT http_status, code, kind FROM iys_attempt "
                                "WHERE event_id = $1", event_id)
    assert (attempt["http_status"], attempt["code"], attempt["kind"]) == (400, "H178", "add")
    # our view did not know that movement: forgotten, so the next event of the key asks
    assert await db.fetchval("SELECT count(*) FROM iys_key_state") == 0


async def test_seen_through_the_status_query_the_event_is_superseded_without_an_add(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    # the citizen's ONAY is 30 minutes old: within the hour the changes feed hides
    event_id = await the_ret_that_waited_out_an_outage(sandbox, db, citizen_onay_hours_ago=0.5)
    failures = business_failures()
    assert await settle_quietly(sandbox, db) == []
    row = await db.fetchrow("SELECT state, last_error_code, last_error FROM consent_event")
    assert (row["state"], row["last_error_code"]) == ("superseded", "SUPERSEDED")
    assert "ONAY" in row["last_error"] and "status query" in row["last_error"]
    assert business_failures() == failures
    assert adds(sandbox) == 0
    assert requests(sandbox, STATUS_QUERIES) == 1 and requests(sandbox, STORED_DATE_QUERIES) == 1
    kinds = [r["kind"] for r in await db.fetch(
        "SELECT kind FROM iys_attempt WHERE event_id = $1", event_id)]
    assert kinds == ["status_date"]   # the stored date that settled it, kept as evidence
    view = await db.fetchrow("SELECT status, origin FROM iys_key_state")
    assert (view["status"], view["origin"]) == ("ONAY", "status_date")


async def test_seen_through_the_puller_the_event_is_superseded_without_a_request(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await the_ret_that_waited_out_an_outage(sandbox, db, citizen_onay_hours_ago=2)
    puller = Puller(db, settings(sandbox))
    # the citizen's two movements (source IYS) and the brand's earlier HS consent (source HS:
    # the puller reads both feeds now, issue #29)
    assert await puller.pull_once(700001, 700001) == 3
    await puller.client.close()
    failures = business_failures()
    before = sum(sandbox.state.requests.values())
    assert await settle_quietly(sandbox, db) == []
    row = await db.fetchrow("SELECT state, last_error_code FROM consent_event")
    assert (row["state"], row["last_error_code"]) == ("superseded", "SUPERSEDED")
    assert business_failures() == failures
    assert sum(sandbox.state.requests.values()) == before   # nothing asked, nothing sent


async def test_a_waited_ret_newer_than_the_citizens_onay_is_still_sent(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    # the stored date is read and is older than our RET: the RET is the newer word
    await add_event(db, ALICE, "RET", received_at=datetime.now(UTC) - timedelta(minutes=20))
    sandbox.clock.advance(-3600)
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    sandbox.clock.advance(3600)
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted"]
    assert requests(sandbox, STORED_DATE_QUERIES) == 1
    assert [m.status for m in sandbox.state.movements_for(700001, ALICE)] == ["ONAY", "RET"]


async def test_identical_rets_are_duplicates_of_the_first_without_a_request_each(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    start = datetime.now(UTC) - timedelta(seconds=30)
    ids = [await add_event(db, ALICE, "RET", received_at=start + timedelta(seconds=i))
           for i in range(3)]
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted", "duplicate", "duplicate"]
    assert adds(sandbox) == 1 and requests(sandbox, STATUS_QUERIES) == 1
    assert await db.fetchval("SELECT count(*) FROM iys_attempt WHERE event_id = ANY($1)",
                             ids[1:]) == 0
    assert await db.fetchval("SELECT sum(attempts) FROM consent_event WHERE id = ANY($1)",
                             ids[1:]) == 0
    codes = await db.fetch("SELECT last_error_code, last_error FROM consent_event "
                           "WHERE id = ANY($1)", ids[1:])
    assert all(r["last_error_code"] == "DUPLICATE" and f"event {ids[0]}" in r["last_error"]
               for r in codes)


async def test_thousands_of_identical_rets_settle_in_a_few_rounds_with_one_status_query(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    # the issue saw one status query per event (0.8 events/s); a RET with no ONAY in İYS
    message_id = await db.fetchval(
        "INSERT INTO mo_message (link, received_at, completed_at, outcome) "
        "VALUES ('t', now(), now(), 'consent') RETURNING id")
    await db.execute(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, source, received_at, consent_date, deadline_at)
           SELECT $1, 'acme', 700001, 700001, $2, 'BIREYSEL', 'MESAJ', 'RET', 'HS_MESAJ',
                  now() - interval '1 minute' + i * interval '1 millisecond',
                  now() - interval '1 minute' + i * interval '1 millisecond',
                  now() + interval '3 days'
             FROM generate_series(1, 3000) AS i""", message_id, ALICE)
    rounds = await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    counts = dict(await db.fetch("SELECT state, count(*) FROM consent_event GROUP BY state"))
    assert counts == {"not_needed": 1, "duplicate": 2999}
    assert rounds <= 3
    assert sum(sandbox.state.requests.values()) - requests(sandbox, "/oauth2/token") == 1


async def test_ret_onay_ret_keeps_all_three(sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    start = datetime.now(UTC) - timedelta(seconds=30)
    for i, status in enumerate(("RET", "ONAY", "RET")):
        await add_event(db, ALICE, status, received_at=start + timedelta(seconds=2 * i))
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted"] * 3
    assert adds(sandbox) == 3
    assert [m.status for m in sandbox.state.movements_for(700001, ALICE)] == [
        "ONAY", "RET", "ONAY", "RET"]


async def test_a_repeat_of_an_accepted_event_is_a_duplicate_unless_iys_changed_since(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await add_event(db, ALICE, "ONAY", received_at=datetime.now(UTC) - timedelta(minutes=3))
    await drain(pusher, db)
    sent = sum(sandbox.state.requests.values())
    await add_event(db, ALICE, "ONAY", received_at=datetime.now(UTC) - timedelta(minutes=2))
    await drain(pusher, db)
    assert await states(db) == ["accepted", "duplicate"]
    assert sum(sandbox.state.requests.values()) == sent    # settled locally
    # the citizen withdrew in İYS (seen by the puller): the next IZIN is news, not a repeat
    await citizen_change(sandbox, ALICE, "RET", hours_ago=1 / 60)
    await db.execute("UPDATE iys_key_state SET status = 'RET', origin = 'pull', "
                     "consent_date = now() - interval '1 minute'")
    await add_event(db, ALICE, "ONAY")
    await drain(pusher, db)
    assert await states(db) == ["accepted", "duplicate", "accepted"]


async def test_a_ret_repeated_long_after_the_accepted_one_asks_iys_first(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    """Past the duplicate horizon (an hour), a repeat is not settled locally: İYS may hold an
    ONAY our view cannot see (another integrator's), and a RET taken for a duplicate
    wrongly is a lost opt-out. Here İYS holds that ONAY: the RET goes out."""
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    await add_event(db, ALICE, "RET", received_at=datetime.now(UTC) - timedelta(hours=3))
    await drain(pusher, db)
    assert await states(db) == ["accepted"]
    # the brand's own systems gave ONAY again on İYS's side: invisible to our view
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    await add_event(db, ALICE, "RET", received_at=datetime.now(UTC) - timedelta(minutes=1))
    await drain(pusher, db)
    assert await states(db) == ["accepted", "accepted"]
    assert adds(sandbox) == 2


async def test_review_and_dismissed_events_are_never_claimed_nor_the_event_before(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    start = datetime.now(UTC) - timedelta(minutes=2)
    first = await add_event(db, ALICE, "RET", received_at=start)
    in_review = await add_event(db, ALICE, "ONAY", received_at=start + timedelta(seconds=10))
    dismissed = await add_event(db, ALICE, "ONAY", received_at=start + timedelta(seconds=20))
    await db.execute("UPDATE consent_event SET state = 'review' WHERE id = $1", in_review)
    await db.execute("UPDATE consent_event SET state = 'dismissed' WHERE id = $1", dismissed)
    await add_event(db, ALICE, "RET", received_at=start + timedelta(seconds=30))
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    # the last RET's event before it is the first RET: a duplicate
    assert await states(db) == ["accepted", "review", "dismissed", "duplicate"]
    assert adds(sandbox) == 1
    assert await db.fetchval("SELECT sum(attempts) FROM consent_event WHERE id <> $1",
                             first) == 0
    await update_gauges(db)
    assert metrics.BACKLOG._value.get() == 0 and metrics.FAILED._value.get() == 0
    assert await requeue_failed(db) == 0
    assert await states(db) == ["accepted", "review", "dismissed", "duplicate"]


async def test_a_requeued_failure_that_a_later_event_overtook_is_superseded(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=2)
    old = await add_event(db, ALICE, "ONAY", received_at=start)
    await db.execute("UPDATE consent_event SET state = 'failed', last_error_code = 'H353' "
                     "WHERE id = $1", old)
    await add_event(db, ALICE, "RET", received_at=start + timedelta(seconds=30))
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await drain(pusher, db)
    assert await requeue_failed(db) == 1
    await drain(pusher, db)
    assert await states(db) == ["superseded", "accepted"]
    assert adds(sandbox) == 1

"""The review queue's storage, automatic RET and gauges against a real PostgreSQL (issue #24,
item 2). Time is driven by the rows' received_at/deadline_at, never by waiting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from inbound import metrics, reviews
from inbound.pipeline import Pipeline
from inbound.writer import BatchWriter
from iys_push import calendar
from iys_push import store as push_store
from tests.near_miss import NEAR_MISS, OTHER_NEAR_MISS, add_review, patch_near_misses
from tests.pdus import deliver_pdu, gsm7_unpacked, ucs2
from tests.pipelines import RULES, received, store_demo_rules


@pytest.fixture
async def pipeline(pool: asyncpg.Pool, writer: BatchWriter) -> Pipeline:
    await store_demo_rules(pool)
    return Pipeline(writer, RULES, reply_links=frozenset({"replies"}))


@pytest.mark.parametrize("link", ["plain", "replies"])  # one statement / prepare, then write
async def test_a_near_miss_is_stored_as_a_review_item_the_pusher_never_claims(
        pipeline: Pipeline, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch,
        link: str) -> None:
    patch_near_misses(monkeypatch, {NEAR_MISS: "acme"})
    await pipeline.accept(link, [received(deliver_pdu(1, gsm7_unpacked(NEAR_MISS))),
                                 received(deliver_pdu(2, gsm7_unpacked("RET ACME"),
                                                      source="905551112233"))])
    messages = await pool.fetch("SELECT id, outcome, received_at FROM mo_message ORDER BY id")
    assert [m["outcome"] for m in messages] == ["needs_review", "consent"]
    rows = await pool.fetch("SELECT * FROM consent_event ORDER BY id")
    review, command = rows
    assert (review["state"], review["status"], review["brand_id"], review["recipient"]) == (
        "review", "RET", "acme", "+905321234567")
    assert review["message_id"] == messages[0]["id"]
    received_at = messages[0]["received_at"]
    assert review["consent_date"] == review["received_at"] == received_at
    assert review["deadline_at"] == calendar.deadline_for(received_at)
    assert review["review_decision"] is None
    assert command["state"] == "pending"
    claimed = await push_store.claim(pool, 100, "w1", 30)
    assert [c.id for c in claimed] == [command["id"]]  # never the review item
    assert await pool.fetchval("SELECT state FROM consent_event WHERE id = $1",
                               review["id"]) == "review"
    # no confirmation goes out for a message that did not opt out
    assert await pool.fetchval("SELECT count(*) FROM sms_out WHERE message_id = $1",
                               messages[0]["id"]) == 0


async def test_beni_listeden_cikarin_on_the_dedicated_number_waits_for_review(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    # the real grammar (issue #24 item 1): a near miss on ACME's own number
    await pipeline.accept("plain", [received(deliver_pdu(
        1, ucs2("beni listeden çıkarın"), dest="908505320000", data_coding=8))])
    assert await pool.fetchval("SELECT outcome FROM mo_message") == "needs_review"
    row = await pool.fetchrow("SELECT brand_id, status, state FROM consent_event")
    assert tuple(row) == ("acme", "RET", "review")


async def test_a_near_miss_without_a_valid_sender_creates_nothing(
        pipeline: Pipeline, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    patch_near_misses(monkeypatch, {NEAR_MISS: "acme"})
    await pipeline.accept("plain", [received(deliver_pdu(1, gsm7_unpacked(NEAR_MISS),
                                                         source="ACMEBANK", ton=5))])
    assert await pool.fetchval("SELECT outcome FROM mo_message") == "invalid_sender"
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 0


# -- the automatic RET -----------------------------------------------------------------------

def window(share: float, length: timedelta = timedelta(days=3)) -> tuple[datetime, datetime]:
    """received_at and deadline_at of an item ``share`` of whose window has passed now."""
    received_at = datetime.now(UTC) - length * share
    return received_at, received_at + length


async def test_an_item_unreviewed_at_ninety_percent_becomes_a_ret_by_itself(
        pool: asyncpg.Pool) -> None:
    await store_demo_rules(pool)
    due_at, due_deadline = window(0.91)
    due = await add_review(pool, received_at=due_at, deadline_at=due_deadline)
    not_yet = await add_review(pool, sender="+905551112233", received_at=window(0.85)[0],
                               deadline_at=window(0.85)[1])
    overdue = await add_review(pool, sender="+905559998877", received_at=window(1.2)[0],
                               deadline_at=window(1.2)[1])
    assert await reviews.auto_ret_due(pool) == 2
    rows = {r["id"]: r for r in await pool.fetch("SELECT * FROM consent_event")}
    for event_id in (due, overdue):
        row = rows[event_id]
        assert (row["state"], row["review_decision"], row["reviewed_by"]) == (
            "pending", "automatic", "system")
        assert row["next_attempt_at"] <= datetime.now(UTC)
    assert rows[due]["consent_date"] == due_at  # the original receipt time
    assert rows[not_yet]["state"] == "review"
    audit = await pool.fetch("SELECT * FROM config_audit WHERE resource = 'review' ORDER BY id")
    assert sorted(int(a["resource_id"]) for a in audit) == sorted([due, overdue])
    for a in audit:
        assert (a["action"], a["actor_token_id"], a["actor_owner_id"], a["actor_admin"]) == (
            "auto_confirm", None, None, False)
        assert a["after"]["actor"] == "system"
        assert a["after"]["review_decision"] == "automatic"
    claimed = await push_store.claim(pool, 100, "w1", 30)
    assert {c.id for c in claimed} == {due, overdue}  # now the pusher sends them
    assert await reviews.auto_ret_due(pool) == 0  # decided once


async def test_a_brand_may_leave_every_item_to_a_person(pool: asyncpg.Pool) -> None:
    await store_demo_rules(pool)
    await pool.execute("""UPDATE brand SET settings = settings || '{"review_auto_ret": false}'
                          WHERE id = 'acme'""")
    acme = await add_review(pool, received_at=window(0.95)[0], deadline_at=window(0.95)[1])
    kuzey = await add_review(pool, brand="kuzey", received_at=window(0.95)[0],
                             deadline_at=window(0.95)[1])
    assert await reviews.auto_ret_due(pool) == 1
    states = dict(await pool.fetch("SELECT id, state FROM consent_event"))
    assert states == {acme: "review", kuzey: "pending"}


async def test_several_processes_decide_each_item_once(pool: asyncpg.Pool) -> None:
    await store_demo_rules(pool)
    received_at, deadline_at = window(0.95)
    ids = [await add_review(pool, sender=f"+9055500000{i:02d}", received_at=received_at,
                            deadline_at=deadline_at) for i in range(40)]
    counts = await asyncio.gather(*(reviews.auto_ret_due(pool, batch=7) for _ in range(4)))
    assert sum(counts) == len(ids)
    assert await pool.fetchval("SELECT count(*) FROM config_audit WHERE resource = 'review'") \
        == len(ids)
    assert await pool.fetchval(
        "SELECT count(*) FROM consent_event WHERE state = 'pending'") == len(ids)


async def test_a_person_and_the_automatic_ret_never_both_decide(pool: asyncpg.Pool) -> None:
    await store_demo_rules(pool)
    event_id = await add_review(pool, received_at=window(0.95)[0], deadline_at=window(0.95)[1])
    actor = reviews.Actor(token_id=None, owner_id=None, admin=True)
    await reviews.decide(pool, "acme", event_id, "dismissed", actor)
    assert await reviews.auto_ret_due(pool) == 0
    row = await pool.fetchrow("SELECT state, review_decision FROM consent_event")
    assert tuple(row) == ("dismissed", "dismissed")
    with pytest.raises(reviews.AlreadyDecided):
        await reviews.decide(pool, "acme", event_id, "confirmed", actor)


# -- gauges ----------------------------------------------------------------------------------

async def test_gauges_count_pending_items_past_half_and_the_nearest_deadline(
        pool: asyncpg.Pool) -> None:
    await store_demo_rules(pool)
    await reviews.update_gauges(pool)
    assert metrics.REVIEWS_PENDING._value.get() == 0
    assert metrics.REVIEW_NEAREST_DEADLINE._value.get() == metrics.NO_REVIEW_DEADLINE_SECONDS
    await add_review(pool, received_at=window(0.2)[0], deadline_at=window(0.2)[1])
    near = await add_review(pool, sender="+905551112233", received_at=window(0.6)[0],
                            deadline_at=window(0.6)[1])
    await add_review(pool, sender="+905559998877", received_at=window(0.7)[0],
                     deadline_at=window(0.7)[1])
    await pool.execute("UPDATE consent_event SET state = 'dismissed' WHERE id = 3")
    await reviews.update_gauges(pool)
    assert metrics.REVIEWS_PENDING._value.get() == 2
    assert metrics.REVIEWS_PAST_HALF._value.get() == 1
    left = (await pool.fetchval("SELECT deadline_at FROM consent_event WHERE id = $1", near)
            - datetime.now(UTC)).total_seconds()
    assert abs(metrics.REVIEW_NEAREST_DEADLINE._value.get() - left) < 60
    assert OTHER_NEAR_MISS  # (the helper's second text is used by the wire test)

"""The clock of the pending events' marks (migration 0037) that the compliance gauges read:
kept by the statements that insert, change and delete events, folded by the gauge loop,
and always equal to what a count over the events themselves gives at minute resolution."""

from __future__ import annotations

from typing import Any

import asyncpg

from iys_push import metrics, store
from iys_push.gauges import update_gauges

# What the clock must give, counted from the events (one transaction: the same now()).
FROM_THE_EVENTS = """
SELECT count(*) AS backlog,
       EXTRACT(EPOCH FROM now() - date_trunc('minute', min(received_at))) AS oldest_age,
       EXTRACT(EPOCH FROM date_trunc('minute', min(deadline_at) FILTER (WHERE status = 'RET'))
                          - now()) AS nearest_ret_deadline,
       count(*) FILTER (WHERE date_trunc('minute', received_at + (deadline_at - received_at)
                                                   * 0.5) < date_trunc('minute', now()))
           AS past_half,
       count(*) FILTER (WHERE date_trunc('minute', received_at + (deadline_at - received_at)
                                                   * 0.9) < date_trunc('minute', now()))
           AS past_ninety,
       count(*) FILTER (WHERE date_trunc('minute', deadline_at) < date_trunc('minute', now()))
           AS overdue
  FROM consent_event WHERE state = 'pending'
"""

# events of every shape: received up to 5 days back, deadlines 3 days after (some earlier),
# RET and ONAY, pending, accepted, failed, in review
SPREAD = """
WITH m AS (INSERT INTO mo_message (link, received_at, completed_at, outcome)
           VALUES ('t', now(), now(), 'consent') RETURNING id)
INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, received_at, consent_date,
                           deadline_at, state)
SELECT m.id, 'acme', 700001, 700001, '+90532' || lpad(i::text, 7, '0'), 'BIREYSEL', 'MESAJ',
       CASE WHEN i % 3 = 0 THEN 'ONAY' ELSE 'RET' END, t, t,
       t + CASE WHEN i % 11 = 0 THEN interval '20 hours' ELSE interval '3 days' END,
       (ARRAY['pending', 'pending', 'pending', 'accepted', 'failed', 'review'])[1 + i % 6]
  FROM m, generate_series($1::int, $2::int) AS i,
       LATERAL (SELECT now() - interval '5 days' * ((i * 7919) % 1000) / 1000.0 AS t) AS r
"""


async def gauges_both_ways(db: asyncpg.Pool) -> tuple[dict[str, Any], dict[str, Any]]:
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        clock = dict(await conn.fetchrow(store.SQL.compliance))
        events = dict(await conn.fetchrow(FROM_THE_EVENTS))
    return clock, events


def assert_same(clock: dict[str, Any], events: dict[str, Any]) -> None:
    for key in ("backlog", "past_half", "past_ninety", "overdue"):
        assert clock[key] == events[key], (key, clock, events)
    for key in ("oldest_age", "nearest_ret_deadline"):
        assert (clock[key] is None) == (events[key] is None), (key, clock, events)
        if clock[key] is not None:
            assert abs(float(clock[key]) - float(events[key])) < 1e-3, (key, clock, events)


async def test_the_clock_gives_what_the_events_give_through_inserts_updates_and_deletes(
    db: asyncpg.Pool
) -> None:
    assert_same(*await gauges_both_ways(db))          # nothing pending: no deadline, no age
    await db.execute(SPREAD, 1, 3000)
    assert_same(*await gauges_both_ways(db))
    # settled, failed, put back (requeue), deadlines moved, review decided, some deleted
    await db.execute("UPDATE consent_event SET state = 'accepted' WHERE state = 'pending' "
                     "AND id % 5 = 0")
    await db.execute("UPDATE consent_event SET state = 'pending' WHERE state = 'failed' "
                     "AND id % 2 = 0")
    await db.execute("UPDATE consent_event SET deadline_at = deadline_at - interval '2 days' "
                     "WHERE id % 13 = 0")
    await db.execute("UPDATE consent_event SET state = 'pending' WHERE state = 'review'")
    await db.execute("UPDATE consent_event SET attempts = attempts + 1")  # no mark changes
    assert_same(*await gauges_both_ways(db))
    await db.fetchval(store.SQL.compact_clock)
    assert_same(*await gauges_both_ways(db))
    await db.execute("DELETE FROM consent_event WHERE id % 7 = 0")
    await db.execute(SPREAD, 3001, 4000)
    assert_same(*await gauges_both_ways(db))
    await db.fetchval(store.SQL.compact_clock)
    clock, events = await gauges_both_ways(db)
    assert_same(clock, events)
    assert events["overdue"] > 0 and events["past_half"] > events["past_ninety"] > 0


async def test_compaction_folds_the_past_into_one_row_a_mark_and_drops_zero_sums(
    db: asyncpg.Pool
) -> None:
    await db.execute(SPREAD, 1, 2000)
    before = await db.fetchval("SELECT count(*) FROM consent_event_clock")
    assert await db.fetchval(store.SQL.compact_clock) > 0
    past = await db.fetch("SELECT mark, count(*) AS rows FROM consent_event_clock "
                          "WHERE at < date_trunc('minute', now()) "
                          "AND mark IN ('half', 'ninety', 'deadline') GROUP BY mark")
    assert {r["mark"]: r["rows"] for r in past} == {"half": 1, "ninety": 1, "deadline": 1}
    assert await db.fetchval("SELECT count(*) FROM consent_event_clock") < before
    # every pending event settled: the clock sums to nothing, and folds away
    await db.execute("UPDATE consent_event SET state = 'accepted' WHERE state = 'pending'")
    await db.fetchval(store.SQL.compact_clock)
    assert await db.fetchval("SELECT count(*) FROM consent_event_clock") == 0
    assert_same(*await gauges_both_ways(db))


async def test_the_gauges_loop_compacts_and_sets_the_gauges_from_the_clock(
    db: asyncpg.Pool
) -> None:
    await db.execute(SPREAD, 1, 600)
    await update_gauges(db)
    _, events = await gauges_both_ways(db)
    assert metrics.BACKLOG._value.get() == events["backlog"] > 0
    assert metrics.OVERDUE._value.get() == events["overdue"] > 0
    assert metrics.PAST_HALF._value.get() == events["past_half"]
    assert await db.fetchval(
        "SELECT count(*) FROM (SELECT mark, at FROM consent_event_clock GROUP BY 1, 2 "
        "HAVING count(*) > 1) AS g") == 0

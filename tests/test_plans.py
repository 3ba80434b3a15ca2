"""The statements that must stay cheap at 10 million rows are served by their indexes
(issue #27): each plan is checked on a table large enough that, without the index, the
planner takes a sequential scan — and each test drops the index to show that it would.

The shape is the 10M benchmark's, smaller: accepted events of a year, the newest pending,
all tried once already: most of them waiting for a later attempt (an İYS outage), a few due
again."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from inbound.api import queries
from iys_push import store

EVENTS = 20_000
PENDING = 2_000
DUE_EVERY = 100      # of the pending: one in a hundred due, the others waiting

FILL = """
WITH m AS (
    INSERT INTO mo_message (id, link, received_at, completed_at, sender, source_addr,
                            destination_addr, text, outcome)
    SELECT i, 'peer', t, t, '+90532' || lpad(i::text, 7, '0'), '90532' || lpad(i::text, 7, '0'),
           '4609', 'RET ACME', 'consent'
      FROM (SELECT i, now() - interval '365 days' * (1 - i::float8 / $1) AS t
              FROM generate_series(1, $1) AS i) g
    RETURNING id, received_at, sender)
INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, received_at, consent_date, deadline_at,
                           state, next_attempt_at, created_at)
SELECT id, 'acme', 700001, 700001, sender, 'BIREYSEL', 'MESAJ', 'RET', received_at,
       received_at, received_at + interval '3 days',
       CASE WHEN id > $1 - $2 THEN 'pending' ELSE 'accepted' END,
       CASE WHEN id <= $1 - $2 THEN received_at
            WHEN id % $3 <> 0 THEN now() + interval '1 hour'     -- waiting
            ELSE now() - interval '1 minute' END,                -- retried, due again
       received_at - interval '2 minutes'
  FROM m
"""


@pytest.fixture
async def filled(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute("INSERT INTO brand (id, name, iys_code, brand_code) VALUES "
                       "('acme', 'ACME', 700001, 700001)")
    await pool.execute(FILL, EVENTS, PENDING, DUE_EVERY)
    await pool.execute("SELECT setval('mo_message_id_seq', $1)", EVENTS)
    # messages that made no consent, to a brand's own number
    await pool.execute(
        """INSERT INTO mo_message (link, received_at, completed_at, sender, destination_addr,
                                   text, outcome)
           SELECT 'peer', now(), now(), '+90533' || lpad(i::text, 7, '0'), '908505320000',
                  'merhaba', 'no_keyword'
             FROM generate_series(1, 2000) AS i""")
    await pool.execute("VACUUM ANALYZE consent_event, mo_message")
    return pool


@contextlib.asynccontextmanager
async def generic(pool: asyncpg.Pool, claim: bool = False
                  ) -> AsyncIterator[asyncpg.Connection]:
    """A transaction planning as the service does after a statement's fifth execution
    (generic plan), and as the pusher plans its claim (CLAIM_PLAN)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        if claim:
            await conn.execute(store.SQL.claim_plan)
        yield conn


async def plan(pool: asyncpg.Pool, query: str, *args: object, claim: bool = False) -> str:
    async with generic(pool, claim) as conn:
        return "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + query, *args))


async def without(pool: asyncpg.Pool, index: str, query: str, *args: object,
                  claim: bool = False) -> str:
    """The plan once ``index`` is gone (dropped inside a transaction rolled back after)."""
    async with pool.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        try:
            await conn.execute(f"DROP INDEX {index}")
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            if claim:
                await conn.execute(store.SQL.claim_plan)
            return "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + query, *args))
        finally:
            await tr.rollback()


CLAIM = (store.SQL.claim, 1000, "w1", 30.0)


async def test_the_claim_reads_the_due_events_only(filled: asyncpg.Pool) -> None:
    found = await plan(filled, *CLAIM, claim=True)
    assert "Index Scan using consent_event_due_idx" in found
    assert "Index Scan using consent_event_retry_idx" in found
    assert "Index Cond: (next_attempt_at <= now())" in found
    assert "Seq Scan" not in found
    assert "Seq Scan on consent_event" in await without(filled, "consent_event_retry_idx",
                                                          *CLAIM, claim=True)
    # what it costs: the due events and their probes, not the 1,980 waiting ones
    async with filled.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        try:
            await conn.execute(store.SQL.claim_plan)
            analysed = "\n".join(r[0] for r in await conn.fetch(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + store.SQL.claim, 1000, "w1", 30.0))
        finally:
            await tr.rollback()
    retry_scan = analysed.split("consent_event_retry_idx", 1)[1].split("\n")[0]
    assert "rows=20 " in retry_scan, analysed        # the 20 due, not the 1,980 waiting
    claimed = await store.claim(filled, 1000, "w1", 30.0)
    assert len(claimed) == PENDING // DUE_EVERY


async def test_the_head_of_key_probe_and_the_settling_probes_use_the_key_index(
    filled: asyncpg.Pool
) -> None:
    found = await plan(filled, *CLAIM, claim=True)
    assert found.count("Index Scan using consent_event_key_idx") == 5  # head ×2, 3 returned
    assert "Seq Scan" not in await plan(filled, store.SQL.settle_run, [1, 2])
    assert "consent_event_key_idx" in await plan(filled, store.SQL.settle_run, [1, 2])


async def test_the_compliance_gauges_read_the_clock_and_the_tally_not_the_events(
    filled: asyncpg.Pool
) -> None:
    # 2,000 pending events: ~2,000 minutes of marks each; the gauges read a few clock rows
    await filled.fetchval(store.SQL.compact_clock)
    await filled.execute("ANALYZE consent_event_clock, consent_event_tally")
    found = await plan(filled, store.SQL.compliance)
    assert "Index Only Scan using consent_event_clock_mark_idx" in found, found
    # the tally: a few rows per day and state (a sequential scan while it is this small)
    assert " on consent_event " not in found, found
    assert "Seq Scan on consent_event_clock" not in found, found
    assert "Seq Scan on consent_event_clock" in await without(
        filled, "consent_event_clock_mark_idx", store.SQL.compliance)


EVENTS_LIST = (queries.SQL.list_events, "acme", None, None, None, None, None, None, None, 50)
EXPORT = (queries.SQL.export_events, "acme", None, None, None, None, None, None, None, 1000)


async def test_the_events_list_and_the_csv_export_walk_a_brand_index_in_order(
    filled: asyncpg.Pool
) -> None:
    found = await plan(filled, *EVENTS_LIST)
    assert "Index Scan Backward using consent_event_brand_time_idx" in found, found
    assert "Seq Scan" not in found and "Sort" not in found, found
    found = await plan(filled, *EXPORT)
    assert "Index Scan using consent_event_brand_time_idx" in found, found
    assert "Seq Scan" not in found and "Sort" not in found, found
    # the list by recipient: the recipient's own few events
    by_recipient = (queries.SQL.list_events, "acme", None, "+905320000007", None, None, None,
                    None, None, 50)
    async with filled.acquire() as conn:
        rows = await conn.fetch("EXPLAIN " + by_recipient[0], *by_recipient[1:])
    assert "consent_event_key_idx" in "\n".join(r[0] for r in rows)


async def test_the_csv_export_from_a_far_back_or_recent_day_starts_at_it_in_the_index(
    filled: asyncpg.Pool
) -> None:
    # ids walked in order from the brand's first event to the first one after "from": the
    # whole year before a recent "from"; now one range of the brand/time index from it
    for days in (300, 30):
        start = await filled.fetchval(f"SELECT now() - interval '{days} days'")
        export = (queries.SQL.export_events, "acme", None, None, None, None, None, start,
                  None, 1000)
        found = await plan(filled, *export)
        assert "Index Scan using consent_event_brand_time_idx" in found, found
        assert "ROW(received_at, id) >" in found.split("Index Cond:", 1)[1].split("\n")[0], found
        assert "Sort" not in found, found
        gone = await without(filled, "consent_event_brand_time_idx", *export)
        assert "consent_event_brand_time_idx" not in gone
        assert "Seq Scan on consent_event" in gone or "Sort" in gone, gone


async def test_the_csv_export_pages_follow_each_other_in_receipt_order(
    filled: asyncpg.Pool
) -> None:
    # events of equal receipt times (an import of one day, say) and ids out of time order
    await filled.execute("UPDATE consent_event SET received_at = date_trunc('day', received_at)"
                         " WHERE id % 7 = 0")
    start = await filled.fetchval("SELECT now() - interval '100 days'")
    expected = [r["id"] for r in await filled.fetch(
        "SELECT id FROM consent_event WHERE brand_id = 'acme' AND received_at >= $1 "
        "ORDER BY received_at, id", start)]
    got: list[int] = []
    after = None
    while True:
        rows = await filled.fetch(queries.SQL.export_events, "acme", after, None, None, None,
                                  None, start, None, 997)
        got += [r["id"] for r in rows]
        if len(rows) < 997:
            break
        after = rows[-1]["id"]
    assert got == expected and len(got) > 5000


async def test_the_events_list_of_a_past_day_is_one_index_range_not_a_walk_back(
    filled: asyncpg.Pool
) -> None:
    # a day a month back (the 10M benchmark's slow read: 165-231 ms walking ids back to it)
    month_ago = await filled.fetchval("SELECT now() - interval '30 days'")
    day = (queries.SQL.list_events, "acme", None, None, None, None, None, month_ago,
           month_ago + timedelta(days=1), 50)
    found = await plan(filled, *day)
    assert "Index Scan Backward using consent_event_brand_time_idx" in found, found
    assert "received_at >=" in found.split("Index Cond:", 1)[1].split("\n")[0], found
    # what it reads: the day's first page, not the index from the newest event back to the
    # day (300 days back: ~16,000 index entries, ~90 pages, if the scan started at the end)
    long_ago = await filled.fetchval("SELECT now() - interval '300 days'")
    async with generic(filled) as conn:
        analysed = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + day[0], "acme", None, None, None, None,
            None, long_ago, long_ago + timedelta(days=1), 50))
    scan = analysed.split("consent_event_brand_time_idx", 1)[1]
    assert "rows=50 " in scan.split("\n")[0], analysed
    pages = int(scan.split("Buffers: shared hit=", 1)[1].split()[0].split("\n")[0])
    assert pages < 20, analysed
    assert "consent_event_brand_time_idx" not in await without(
        filled, "consent_event_brand_time_idx", *day)
    # and a cursor page continues exactly where the first page ended
    first = await filled.fetch(day[0], *day[1:])
    after = await filled.fetch(day[0], "acme", first[-1]["id"], *day[3:])
    both = [r["id"] for r in first] + [r["id"] for r in after]
    expected = await filled.fetch(
        "SELECT id FROM consent_event WHERE brand_id = 'acme' AND received_at >= $1 "
        "AND received_at < $2 ORDER BY received_at DESC, id DESC",
        month_ago, month_ago + timedelta(days=1))
    assert both == [r["id"] for r in expected][:len(both)] and len(set(both)) == len(both)


async def test_the_recipient_history_reads_the_recipients_rows_only(
    filled: asyncpg.Pool
) -> None:
    recipient = "+905320000007"
    events = await plan(filled, queries.SQL.recipient_events, "acme", recipient)
    assert "Index Scan using consent_event_key_idx" in events and "Seq Scan" not in events
    assert "Seq Scan on consent_event" in await without(
        filled, "consent_event_key_idx", queries.SQL.recipient_events, "acme", recipient)
    messages = await plan(filled, queries.SQL.recipient_messages, "acme", recipient,
                          ["908505320000"])
    assert "consent_event_key_idx" in messages and "mo_message_pkey" in messages
    assert "mo_message_sender_idx" in messages and "Seq Scan" not in messages, messages
    rows = await filled.fetch(queries.SQL.recipient_messages, "acme", recipient, ["908505320000"])
    assert [r["sender"] for r in rows] == [recipient]


async def test_the_messages_list_probes_each_message_instead_of_hashing_every_event(
    filled: asyncpg.Pool
) -> None:
    found = await plan(filled, queries.SQL.list_messages, "acme", None, None, None, None, None,
                       50, ["908505320000"])
    assert "consent_event_message_idx" in found and "Seq Scan" not in found, found

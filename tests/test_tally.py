"""The event tally (migration 0029): per brand, Turkish day, status and state, kept by
statement triggers as signed deltas; the chart and the failed gauge read it."""

from __future__ import annotations

from datetime import date

import asyncpg

from inbound.web import queries as web_queries
from iys_push import store

EVENTS = """
INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, received_at, consent_date, deadline_at,
                           state)
SELECT $1, 'acme', 700001, 700001, '+90532' || lpad(i::text, 7, '0'), 'BIREYSEL', 'MESAJ',
       CASE WHEN i % 3 = 0 THEN 'ONAY' ELSE 'RET' END, t, t, t + interval '3 days', $4
  FROM (SELECT i, timestamptz '2026-11-30 20:30+00' + (i % 5) * interval '1 hour' AS t
          FROM generate_series($2::int, $3::int) AS i) g
"""

DIRECT = """
SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date AS day, status, state,
       count(*) AS n
  FROM consent_event GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""
TALLIED = """
SELECT brand_id, day, status, state, sum(n) AS n FROM consent_event_tally
 GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
"""


async def _setup(pool: asyncpg.Pool) -> int:
    await pool.execute("INSERT INTO brand (id, name, iys_code, brand_code) VALUES "
                       "('acme', 'ACME', 700001, 700001)")
    return await pool.fetchval(
        "INSERT INTO mo_message (link, received_at, completed_at, outcome) "
        "VALUES ('t', now(), now(), 'consent') RETURNING id")


async def test_the_tally_follows_inserts_updates_and_deletes_and_survives_compaction(
    pool: asyncpg.Pool
) -> None:
    message = await _setup(pool)
    await pool.execute(EVENTS, message, 1, 300, "pending")
    await pool.execute(EVENTS, message, 301, 400, "accepted")
    await pool.execute("UPDATE consent_event SET state = 'accepted' WHERE id % 4 = 0")
    await pool.execute("UPDATE consent_event SET attempts = attempts + 1")  # no group changes
    await pool.execute("DELETE FROM consent_event WHERE id % 7 = 0")
    direct = [tuple(r) for r in await pool.fetch(DIRECT)]
    assert len(direct) == 8         # two Turkish days (20:30-00:30 UTC), statuses, states
    assert [tuple(r) for r in await pool.fetch(TALLIED)] == direct
    rows_before = await pool.fetchval("SELECT count(*) FROM consent_event_tally")
    assert await pool.fetchval(store.SQL.compact_tally) == rows_before > len(direct)
    assert await pool.fetchval("SELECT count(*) FROM consent_event_tally") == len(direct)
    assert [tuple(r) for r in await pool.fetch(TALLIED)] == direct
    # the chart: per day and status, the states summed
    chart = await pool.fetch(web_queries.SQL.events_per_day, "acme", date(2026, 11, 30),
                             date(2026, 12, 2))
    by_day: dict[tuple[object, str], int] = {}
    for brand, day, status, _state, n in direct:
        assert brand == "acme"
        by_day[(day, status)] = by_day.get((day, status), 0) + n
    assert {(r["day"], r["status"]): r["n"] for r in chart} == by_day


async def test_two_writers_of_the_same_brand_and_day_do_not_wait_for_each_other(
    pool: asyncpg.Pool
) -> None:
    # deltas are inserted, never a shared counter row updated: a second MO batch of the same
    # brand, day, status and state commits while the first is still open
    message = await _setup(pool)
    async with pool.acquire() as first, pool.acquire() as second:
        tr = first.transaction()
        await tr.start()
        try:
            await first.execute(EVENTS, message, 1, 10, "pending")
            async with second.transaction():
                await second.execute("SET LOCAL lock_timeout = '2s'")
                await second.execute(EVENTS, message, 11, 20, "pending")
        finally:
            await tr.rollback()
    assert [tuple(r) for r in await pool.fetch(TALLIED)] == [
        tuple(r) for r in await pool.fetch(DIRECT)]

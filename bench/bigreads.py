"""What the pusher, the gauges and the API cost on a database, timed statement by statement
(``make bench``'s "10M" section; bench/big.py runs it on the empty and the big database).

Each figure is the statement the service runs, from its own module (iys_push.store,
inbound.api.queries, inbound.web.queries), executed as the service executes it: a prepared
statement (asyncpg), so after five executions PostgreSQL may switch to its generic plan,
exactly as in the service. Every statement runs ``REPEATS`` times; the median and the
slowest are reported. The claim runs in a transaction that is rolled back (the database
stays as it was): on the empty database with 1,000 due events inserted in that transaction
first, on the big one with its own (1,000 due among 100,000 waiting for a later attempt).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from inbound.api import queries
from inbound.web import queries as web_queries
from iys_push import store

REPEATS = 12
BRAND = "acme"
DEDICATED = ["908505320000"]

SEED_DUE = """
INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, received_at, consent_date,
                           deadline_at)
SELECT (SELECT min(id) FROM mo_message), 'acme', 700001, 700001,
       '+90539' || lpad(i::text, 7, '0'), 'BIREYSEL', 'MESAJ', 'RET', now(), now(),
       now() + interval '3 days'
  FROM generate_series(1, 1000) AS i
"""
SEED_MESSAGE = """
INSERT INTO mo_message (link, received_at, completed_at, outcome)
SELECT 'peer', now(), now(), 'consent' WHERE NOT EXISTS (SELECT 1 FROM mo_message)
"""


def _summary(times: list[float], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"median_ms": round(statistics.median(times) * 1000, 2),
            "max_ms": round(max(times) * 1000, 2), "runs": len(times), **(extra or {})}


async def _timed(run: Callable[[], Awaitable[Any]], repeats: int = REPEATS) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return times


async def claim_figures(conn: asyncpg.Connection, seed_due: bool) -> dict[str, Any]:
    """The claim of 1,000 (LIMIT 1000) as the pusher runs it, rolled back each time."""
    times, claimed = [], 0
    stmt = await conn.prepare(store.SQL.claim)
    for _ in range(REPEATS):
        tr = conn.transaction()
        await tr.start()
        try:
            if seed_due:
                await conn.execute(SEED_MESSAGE)
                await conn.execute(SEED_DUE)
            await conn.execute(store.SQL.claim_plan)
            started = time.perf_counter()
            rows = await stmt.fetch(1000, "bench", 30.0)
            times.append(time.perf_counter() - started)
            claimed = len(rows)
        finally:
            await tr.rollback()
    pending = await conn.fetchval("SELECT count(*) FROM consent_event WHERE state = 'pending'")
    median = statistics.median(times)
    return _summary(times, {"claimed": claimed, "pending": pending,
                            "claims_per_s": round(1 / median, 1) if median else None})


async def gauge_figures(conn: asyncpg.Connection) -> dict[str, Any]:
    compliance = await conn.prepare(store.SQL.compliance)
    failed = await conn.prepare(store.SQL.failed_count)
    ratio = await conn.prepare(store.SQL.success_ratio_24h)

    async def all_three() -> None:
        await compliance.fetchrow()
        await failed.fetchval()
        await ratio.fetchrow("default", [400, 401, 403, 404, 422])

    async def compaction() -> None:  # the gauge loop's folding of the tally and the clock
        await conn.fetchval(store.SQL.compact_tally)
        await conn.fetchval(store.SQL.compact_clock)
    # the first compaction folds what the fixture's rebuild or the last run left
    return {"compaction": _summary(await _timed(compaction)),
            "compliance": _summary(await _timed(compliance.fetchrow)),
            "all_gauges": _summary(await _timed(all_three))}


async def read_figures(conn: asyncpg.Connection) -> dict[str, Any]:
    """The API's events list (and its filters), CSV first row, recipient history, the
    messages list and the web page's chart, on recipients that exist."""
    recipients = [r["recipient"] for r in await conn.fetch(
        "SELECT recipient FROM consent_event TABLESAMPLE SYSTEM (1) LIMIT 200")]
    if not recipients:
        recipients = ["+905320000000"]
    now = datetime.now(UTC)
    month_ago = now - timedelta(days=30)
    events = await conn.prepare(queries.SQL.list_events)
    messages = await conn.prepare(queries.SQL.list_messages)
    out: dict[str, Any] = {}
    out["events_list"] = _summary(await _timed(
        lambda: events.fetch(BRAND, None, None, None, None, None, None, None, 50)))
    out["events_by_recipient"] = _summary(await _timed(
        lambda: events.fetch(BRAND, None, random.choice(recipients), None, None, None, None,
                             None, 50)))
    out["events_by_status"] = _summary(await _timed(
        lambda: events.fetch(BRAND, None, None, "ONAY", None, None, None, None, 50)))
    out["events_pending"] = _summary(await _timed(
        lambda: events.fetch(BRAND, None, None, None, "pending", None, None, None, 50)))
    out["events_one_day_a_month_ago"] = _summary(await _timed(
        lambda: events.fetch(BRAND, None, None, None, None, None, month_ago,
                             month_ago + timedelta(days=1), 50)))
    out["csv_first_row"] = _summary(await _timed(lambda: _csv_first_row(conn)))
    for days in (300, 30):  # "from" a day far back, and a month back
        out[f"csv_from_{days}_days_back"] = _summary(await _timed(
            lambda d=days: _csv_first_row(conn, now - timedelta(days=d))))
    out["recipient_history"] = _summary(await _timed(
        lambda: _recipient_history(conn, random.choice(recipients))))
    out["messages_list"] = _summary(await _timed(
        lambda: messages.fetch(BRAND, None, None, None, None, None, 50, DEDICATED)))
    chart = await conn.prepare(web_queries.SQL.events_per_day)
    last = await conn.prepare(web_queries.SQL.last_event_at)

    async def page_chart() -> None:
        await chart.fetch(BRAND, (now - timedelta(days=29)).date(), now.date() + timedelta(days=1))
        await last.fetchval(BRAND)
    out["web_chart_30_days"] = _summary(await _timed(page_chart))
    return out


async def _csv_first_row(conn: asyncpg.Connection, start: datetime | None = None) -> None:
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        await conn.fetch(queries.SQL.export_events, BRAND, None, None, None, None, None, start,
                         None, 1000)  # the first page, as the API's export takes it


async def _recipient_history(conn: asyncpg.Connection, recipient: str) -> None:
    msgs = await conn.fetch(queries.SQL.recipient_messages, BRAND, recipient, DEDICATED)
    await conn.fetch(queries.SQL.recipient_pdus, [m["id"] for m in msgs])
    evs = await conn.fetch(queries.SQL.recipient_events, BRAND, recipient)
    await conn.fetch(queries.SQL.event_attempts, [e["id"] for e in evs])
    await conn.fetch(queries.SQL.recipient_iys_changes, BRAND, recipient)


async def measure(dsn: str, seed_due: bool) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return {"claim": await claim_figures(conn, seed_due),
                "gauges": await gauge_figures(conn), "reads": await read_figures(conn)}
    finally:
        await conn.close()

"""Retention: what is stored is kept as long as the regulation asks, then removed (issue #26
item 5; README "Retention"; why: docs/DESIGN-NOTES.md).

* A consent event, its message, PDUs and İYS attempts are kept while the event is its key's
  current movement, and for ``keep_after_consent_end`` after a later movement of the key
  ended it (default three years). An event "ends" when a later event of its key that is a
  movement (pending, accepted, not_needed, duplicate) was received more than that long ago.
* A message that made no event (no keyword, unknown number, invalid sender…) is kept for
  ``keep_without_consent`` (default one year): personal data no longer than needed.
* ``sms_in`` and ``iys_attempt`` are partitioned by month (migrations/0018): a month older
  than ``keep_after_consent_end`` is dropped whole, after the PDUs and attempts of every
  event still kept (current, or ended less than the period ago) are copied to
  ``sms_in_kept`` / ``iys_attempt_kept``. Rows elsewhere go in batches of ``batch_size``,
  each batch its own short transaction, so the MO path never waits long for them.

Every process may run the job: a transaction-scoped advisory lock makes one pass at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

log = structlog.get_logger(__name__)

RETENTION_LOCK_ID = 0x1175_0026     # pg_advisory_xact_lock: one batch at a time
WINDOW = timedelta(days=7)          # of receipt times, looked at by one batch at most
MOVEMENT_STATES = ("pending", "accepted", "not_needed", "duplicate")


@dataclass(frozen=True)
class RetentionSettings:
    keep_after_consent_end: timedelta = timedelta(days=3 * 365)
    keep_without_consent: timedelta = timedelta(days=365)
    batch_size: int = 1000
    interval: float = 86400.0           # seconds between two passes
    months_ahead: int = 2               # partitions created ahead of the current month


# The events received in [$3, $5) whose consent ended before $1 (a later movement of the key
# received before it), oldest first, at most $2. The pass walks time in windows of
# WINDOW: each a range of consent_event_received_brin, sorted, however old the table.
ENDED_EVENTS = """
SELECT e.id, e.message_id, e.received_at
  FROM consent_event e
 WHERE e.received_at >= $3 AND e.received_at < $5
   AND EXISTS (SELECT 1 FROM consent_event l
                WHERE (l.recipient, l.brand_code, l.recipient_type, l.type)
                    = (e.recipient, e.brand_code, e.recipient_type, e.type)
                  AND l.state = ANY($4::text[]) AND l.received_at < $1
                  AND (l.received_at, l.id) > (e.received_at, e.id))
 ORDER BY e.received_at
 LIMIT $2
"""

# The messages that made no event, received before $1, at most $2.
MESSAGES_WITHOUT_CONSENT = """
SELECT m.id FROM mo_message m
 WHERE m.received_at < $1 AND m.outcome <> 'consent'
   AND NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.message_id = m.id)
 ORDER BY m.received_at
 LIMIT $2
"""

DELETE_ATTEMPTS = "DELETE FROM iys_attempt WHERE event_id = ANY($1::bigint[])"
DELETE_KEPT_ATTEMPTS = "DELETE FROM iys_attempt_kept WHERE event_id = ANY($1::bigint[])"
DELETE_EVENTS = "DELETE FROM consent_event WHERE id = ANY($1::bigint[])"
# a message goes with its last event (one message may carry events of several brands)
ORPHANED_MESSAGES = """
SELECT m FROM unnest($1::bigint[]) AS m
 WHERE NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.message_id = m)
"""
DELETE_MESSAGE_ROWS = (
    "DELETE FROM sms_in WHERE message_id = ANY($1::bigint[])",
    "DELETE FROM sms_in_kept WHERE message_id = ANY($1::bigint[])",
    "DELETE FROM sms_part WHERE message_id = ANY($1::bigint[])",
    "DELETE FROM sms_out WHERE message_id = ANY($1::bigint[])",
    "DELETE FROM mo_message WHERE id = ANY($1::bigint[])",
)

# the months of a table partitioned by month, with their upper bounds
MONTHS = """
SELECT c.relname AS name,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz
           AS upper_bound
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = $1::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
 ORDER BY 2
"""

# Before a month of sms_in goes: the PDUs of every event still kept — its key's current
# movement, or ended after $1 (no later movement of the key received before $1).
KEEP_PDUS = """
INSERT INTO sms_in_kept
SELECT s.*, now() FROM {month} s
 WHERE EXISTS (SELECT 1 FROM consent_event e
                WHERE e.message_id = s.message_id
                  AND NOT EXISTS (SELECT 1 FROM consent_event l
                                   WHERE (l.recipient, l.brand_code, l.recipient_type, l.type)
                                       = (e.recipient, e.brand_code, e.recipient_type, e.type)
                                     AND l.state = ANY($2::text[]) AND l.received_at < $1
                                     AND (l.received_at, l.id) > (e.received_at, e.id)))
ON CONFLICT (id) DO NOTHING
"""
KEEP_ATTEMPTS = """
INSERT INTO iys_attempt_kept
SELECT a.*, now() FROM {month} a
  JOIN consent_event e ON e.id = a.event_id
 WHERE NOT EXISTS (SELECT 1 FROM consent_event l
                    WHERE (l.recipient, l.brand_code, l.recipient_type, l.type)
                        = (e.recipient, e.brand_code, e.recipient_type, e.type)
                      AND l.state = ANY($2::text[]) AND l.received_at < $1
                      AND (l.received_at, l.id) > (e.received_at, e.id))
ON CONFLICT (id) DO NOTHING
"""


async def ensure_partitions(pool: asyncpg.Pool, months_ahead: int) -> None:
    """This month's and the next ``months_ahead`` months' partitions exist."""
    async with pool.acquire() as conn:
        for table in ("sms_in", "iys_attempt"):
            await conn.execute("SELECT iys_month_partitions($1, now(), $2)", table, months_ahead)


async def drop_expired_months(pool: asyncpg.Pool, settings: RetentionSettings) -> list[str]:
    """Drop the months of sms_in and iys_attempt that ended more than
    ``keep_after_consent_end`` ago, after copying the evidence still kept; their names."""
    dropped: list[str] = []
    async with pool.acquire() as conn:
        cutoff = await conn.fetchval("SELECT now() - $1::interval",
                                     settings.keep_after_consent_end)
        for table, keep in (("sms_in", KEEP_PDUS), ("iys_attempt", KEEP_ATTEMPTS)):
            for month in await conn.fetch(MONTHS, table):
                if month["upper_bound"] > cutoff:
                    break
                name = month["name"]
                async with conn.transaction():
                    # a brief exclusive lock on the parent: give way rather than hold up MOs
                    await conn.execute("SET LOCAL lock_timeout = '5s'")
                    copied = await conn.execute(
                        keep.format(month=_quoted(name)), cutoff, list(MOVEMENT_STATES))
                    await conn.execute(f"DROP TABLE {_quoted(name)}")
                log.info("retention: month dropped", table=table, month=name,
                         kept=int(copied.split()[-1]))
                dropped.append(name)
    return dropped


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def oldest_event(pool: asyncpg.Pool) -> datetime | None:
    """Where a pass starts: the receipt time of the oldest event. Ids are in time order, so
    the first rows of the primary key have it (the smallest of the first hundred: a message
    may be stored a little after a later one)."""
    return await pool.fetchval("SELECT min(received_at) FROM (SELECT received_at FROM "
                               "consent_event ORDER BY id LIMIT 100) AS first")


async def delete_ended_batch(pool: asyncpg.Pool, settings: RetentionSettings,
                             since: datetime, cutoff: datetime) -> tuple[int, datetime | None]:
    """One batch of events received from ``since`` on (one ``WINDOW`` at most) whose consent
    ended before ``cutoff`` (the pass's now minus the period), with their attempts, and their
    messages once no event refers to them. Returns (events deleted, where the next batch
    starts; None: done)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", RETENTION_LOCK_ID)
        if since >= cutoff:
            return 0, None
        until = min(since + WINDOW, cutoff)
        rows = await conn.fetch(ENDED_EVENTS, cutoff, settings.batch_size, since,
                                list(MOVEMENT_STATES), until)
        ids = [r["id"] for r in rows]
        if ids:
            await conn.execute(DELETE_ATTEMPTS, ids)
            await conn.execute(DELETE_KEPT_ATTEMPTS, ids)
            await conn.execute(DELETE_EVENTS, ids)
            messages = [r[0] for r in await conn.fetch(
                ORPHANED_MESSAGES, list({r["message_id"] for r in rows}))]
            await _delete_messages(conn, messages)
        # a full batch: the window may hold more (from the last one deleted, which is gone)
        return len(ids), rows[-1]["received_at"] if len(ids) == settings.batch_size else until


async def delete_without_consent_batch(pool: asyncpg.Pool, settings: RetentionSettings) -> int:
    """One batch of messages that made no event, older than ``keep_without_consent``."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", RETENTION_LOCK_ID)
        cutoff = await conn.fetchval("SELECT now() - $1::interval",
                                     settings.keep_without_consent)
        ids = [r["id"] for r in await conn.fetch(MESSAGES_WITHOUT_CONSENT, cutoff,
                                                 settings.batch_size)]
        await _delete_messages(conn, ids)
        return len(ids)


async def _delete_messages(conn: asyncpg.Connection, ids: list[int]) -> None:
    if ids:
        for statement in DELETE_MESSAGE_ROWS:
            await conn.execute(statement, ids)


async def run_once(pool: asyncpg.Pool, settings: RetentionSettings) -> dict[str, int]:
    """One pass: partitions ahead, expired months, then batches until nothing is due."""
    await ensure_partitions(pool, settings.months_ahead)
    dropped = await drop_expired_months(pool, settings)
    events = messages = 0
    # one cutoff for the pass: recomputed per batch, it would move ahead of the walk forever
    cutoff = await pool.fetchval("SELECT now() - $1::interval", settings.keep_after_consent_end)
    progress = await oldest_event(pool)
    while progress is not None:
        n, progress = await delete_ended_batch(pool, settings, progress, cutoff)
        events += n
        await asyncio.sleep(0)  # let the MO path in between batches
    while True:
        n = await delete_without_consent_batch(pool, settings)
        messages += n
        if n < settings.batch_size:
            break
        await asyncio.sleep(0)
    if dropped or events or messages:
        log.info("retention pass", months_dropped=len(dropped), events_deleted=events,
                 messages_without_consent_deleted=messages)
    return {"months_dropped": len(dropped), "events": events, "messages": messages}


async def run_forever(pool: asyncpg.Pool, settings: RetentionSettings) -> None:
    """A pass now and every ``settings.interval`` seconds; a failed pass is logged and the
    next one tries again (the MO path never depends on it, except for next month's
    partition, created months ahead)."""
    while True:
        try:
            await run_once(pool, settings)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("retention pass failed", error=str(exc))
        await asyncio.sleep(settings.interval)

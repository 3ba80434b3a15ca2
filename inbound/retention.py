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

from inbound import retention_tables
from inbound.db import DATABASE_ERRORS
from inbound.store import SQL

log = structlog.get_logger(__name__)
# the statements that remove a message's rows, in foreign-key order
DELETE_MESSAGE_ROWS = (SQL.retention_delete_sms_in, SQL.retention_delete_sms_in_kept,
                       SQL.retention_delete_sms_part, SQL.retention_delete_sms_out,
                       SQL.retention_delete_mo_message)

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
    # the tables of #29-#32 (inbound/retention_tables.py)
    keep_webhooks: timedelta = timedelta(days=30)          # events/deliveries/attempts, done
    keep_notices_sent: timedelta = timedelta(days=90)
    keep_iys_push_requests: timedelta = timedelta(days=30)  # raw bodies; movements stay
    keep_link_codes: timedelta = timedelta(days=1)          # after use or expiry
    keep_unused_links: timedelta = timedelta(days=365)      # after expiry, nothing recorded
    keep_import_rows: timedelta = timedelta(days=365)       # after the import finished


async def ensure_partitions(pool: asyncpg.Pool, months_ahead: int) -> None:
    """This month's and the next ``months_ahead`` months' partitions exist."""
    async with pool.acquire() as conn:
        for table in ("sms_in", "iys_attempt"):
            await conn.execute(SQL.retention_partitions_ahead, table, months_ahead)


async def drop_expired_months(pool: asyncpg.Pool, settings: RetentionSettings) -> list[str]:
    """Drop the months of sms_in and iys_attempt that ended more than
    ``keep_after_consent_end`` ago, after copying the evidence still kept; their names."""
    dropped: list[str] = []
    async with pool.acquire() as conn:
        cutoff = await conn.fetchval(SQL.retention_cutoff,
                                     settings.keep_after_consent_end)
        for table, keep in (("sms_in", SQL.retention_keep_pdus),
                            ("iys_attempt", SQL.retention_keep_attempts)):
            for month in await conn.fetch(SQL.retention_months, table):
                if month["upper_bound"] > cutoff:
                    break
                name = month["name"]
                async with conn.transaction():
                    await conn.execute(SQL.retention_lock_timeout)
                    copied = await conn.execute(
                        keep.format(month=_quoted(name)), cutoff, list(MOVEMENT_STATES))
                    await conn.execute(SQL.retention_drop_month.format(month=_quoted(name)))
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
    return await pool.fetchval(SQL.retention_first_received)


async def delete_ended_batch(pool: asyncpg.Pool, settings: RetentionSettings,
                             since: datetime, cutoff: datetime) -> tuple[int, datetime | None]:
    """One batch of events received from ``since`` on (one ``WINDOW`` at most) whose consent
    ended before ``cutoff`` (the pass's now minus the period), with their attempts, and their
    messages once no event refers to them. Returns (events deleted, where the next batch
    starts; None: done)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SQL.retention_lock, RETENTION_LOCK_ID)
        if since >= cutoff:
            return 0, None
        until = min(since + WINDOW, cutoff)
        rows = await conn.fetch(SQL.retention_ended_events, cutoff, settings.batch_size, since,
                                list(MOVEMENT_STATES), until)
        ids = [r["id"] for r in rows]
        if ids:
            await conn.execute(SQL.retention_delete_attempts, ids)
            await conn.execute(SQL.retention_delete_kept_attempts, ids)
            await conn.execute(SQL.retention_delete_events, ids)
            messages = [r[0] for r in await conn.fetch(
                SQL.retention_orphaned_messages, list({r["message_id"] for r in rows}))]
            await _delete_messages(conn, messages)
        # a full batch: the window may hold more (from the last one deleted, which is gone)
        return len(ids), rows[-1]["received_at"] if len(ids) == settings.batch_size else until


async def delete_without_consent_batch(pool: asyncpg.Pool, settings: RetentionSettings) -> int:
    """One batch of messages that made no event, older than ``keep_without_consent``."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SQL.retention_lock, RETENTION_LOCK_ID)
        cutoff = await conn.fetchval(SQL.retention_cutoff,
                                     settings.keep_without_consent)
        ids = [r["id"] for r in await conn.fetch(SQL.retention_messages_without_consent, cutoff,
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
    cutoff = await pool.fetchval(SQL.retention_cutoff, settings.keep_after_consent_end)
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
    others = await retention_tables.run_once(pool, settings)
    if dropped or events or messages or any(others.values()):
        log.info("retention pass", months_dropped=len(dropped), events_deleted=events,
                 messages_without_consent_deleted=messages, **others)
    return {"months_dropped": len(dropped), "events": events, "messages": messages, **others}


async def run_forever(pool: asyncpg.Pool, settings: RetentionSettings) -> None:
    """A pass now and every ``settings.interval`` seconds; a failed pass is logged and the
    next one tries again (the MO path never depends on it, except for next month's
    partition, created months ahead)."""
    while True:
        try:
            await run_once(pool, settings)
        except DATABASE_ERRORS as exc:
            log.warning("retention pass failed", error=str(exc))
        await asyncio.sleep(settings.interval)

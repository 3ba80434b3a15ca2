"""Retention of the tables the İYS mirror, consent links, imports, webhooks and e-mail notices
added (issues #29-#32), under issue #26 item 5's rule: nothing grows without limit, personal
data is kept no longer than needed, and the evidence of a key's current consent is never
removed. Periods: ``RetentionSettings`` (README "Retention"; why: docs/DESIGN-NOTES.md).

* webhook attempts and events (with their deliveries) once nothing is pending for them;
* notice_sent rows, except those the subscription's immediate query would still find (they
  would be mailed again);
* İYS's raw push requests (the movements stay in iys_change);
* used or expired one-time codes of links, with the SMS that carried them;
* expired links that recorded nothing (a link that did is its consent's evidence);
* the per-row outcomes of finished imports (the consents stay as submissions and events).

Each batch is its own short transaction under the retention job's advisory lock.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import asyncpg

from inbound import sqlfile
from inbound.notices import SQL as NOTICES_SQL
from inbound.store import SQL as STORE_SQL

if TYPE_CHECKING:  # inbound.retention runs this module's pass
    from inbound.retention import RetentionSettings

SQL = sqlfile.load("inbound", "sql/retention_tables.sql")
RETENTION_LOCK_ID = 0x1175_0026     # inbound.retention.RETENTION_LOCK_ID (one pass at a time)


def periods(settings: RetentionSettings) -> dict[str, timedelta]:
    """Each statement's period."""
    return {"webhook_attempts": settings.keep_webhooks,
            "webhook_events": settings.keep_webhooks,
            "iys_push_requests": settings.keep_iys_push_requests,
            "link_codes": settings.keep_link_codes,
            "unused_links": settings.keep_unused_links,
            "import_rows": settings.keep_import_rows}


async def _batch(pool: asyncpg.Pool, statement: str, *args: object) -> int:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(STORE_SQL.retention_lock, RETENTION_LOCK_ID)
        return len(await conn.fetch(statement, *args))


async def _until_short(pool: asyncpg.Pool, batch_size: int, statement: str,
                       *args: object) -> int:
    total = 0
    while True:
        n = await _batch(pool, statement, *args)
        total += n
        if n < batch_size:
            return total
        await asyncio.sleep(0)   # let the MO path in between batches


async def delete_notices_sent(pool: asyncpg.Pool, keep: timedelta, batch_size: int) -> int:
    total = 0
    for sub in await pool.fetch(SQL.notice_subscriptions):
        live = [r["item"] for r in await pool.fetch(
            NOTICES_SQL.immediate_items, sub["owner_id"], sub["created_at"],
            await pool.fetchval(NOTICES_SQL.database_now))]
        total += await _until_short(pool, batch_size, SQL.notices_sent, keep, batch_size,
                                    sub["id"], live)
    return total


async def run_once(pool: asyncpg.Pool, settings: RetentionSettings) -> dict[str, int]:
    """Every table's batches until nothing is due; rows deleted per statement."""
    size = settings.batch_size
    deleted = {name: await _until_short(pool, size, getattr(SQL, name), keep, size)
               for name, keep in periods(settings).items()}
    deleted["notices_sent"] = await delete_notices_sent(pool, settings.keep_notices_sent, size)
    return deleted

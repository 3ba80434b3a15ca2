"""İYS-side changes (e-Devlet, the 3338 short number, the app) into our local state view.

``GET …/consents/changes?source=IYS`` per brand, on a schedule, from the stored ``after``
cursor (opaque: stored and sent back as is); 204 means nothing new. Each page is stored
(``iys_change``, listed with the brand's events by the API) together with its cursor in one
transaction, so a crash repeats a page at worst, and the unique key absorbs the repeat.
The feed hides the last 60 minutes and keeps 7 days (IYS_API.md §2.7).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import structlog

from iys_push import store
from iys_push.client import IysClient, IysSettings
from iys_push.timefmt import parse_iys

log = structlog.get_logger(__name__)

PAGE = 1000  # İYS's maximum (H507 above)


class Puller:
    def __init__(self, pool: asyncpg.Pool, settings: IysSettings,
                 client: IysClient | None = None) -> None:
        self.pool = pool
        self.settings = settings
        self.client = client or IysClient(pool, settings)

    async def run(self) -> None:
        """Pull every brand now and then every ``pull_interval``; errors are logged, never
        fatal (the next round starts from the stored cursor)."""
        try:
            while True:
                try:
                    brands = await self.pool.fetch(store.SQL.brand_accounts)
                except Exception as exc:
                    log.warning("puller: cannot list brands", error=str(exc))
                    brands = []
                for row in brands:
                    try:
                        await self.pull_once(row["brand_code"], row["iys_code"])
                    except Exception as exc:
                        log.warning("puller: pull failed", brand_code=row["brand_code"],
                                    error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self.settings.pull_interval)
        finally:
            await self.client.close()

    async def pull_once(self, brand_code: int, iys_code: int) -> int:
        """Fetch every page of new İYS-side changes for one brand; returns how many."""
        total = 0
        while True:
            after = await self.pool.fetchval(store.SQL.pull_cursor, brand_code)
            answer = await self.client.changes(iys_code, brand_code, after, PAGE)
            if answer.status == 204:
                return total
            if not answer.ok or not isinstance(answer.body, dict):
                raise ConnectionError(f"İYS changes feed: HTTP {answer.status} "
                                      f"{answer.code or ''}")
            items = [i for i in answer.body.get("list") or [] if isinstance(i, dict)]
            async with self.pool.acquire() as conn, conn.transaction():
                for item in items:
                    await _store_change(conn, brand_code, item)
                if answer.body.get("after"):
                    await conn.execute(store.SQL.save_pull_cursor, brand_code, answer.body["after"])
            total += len(items)
            if len(items) < PAGE or not answer.body.get("after"):
                return total


async def _store_change(conn: asyncpg.Connection, brand_code: int, item: dict) -> None:
    recipient_type = item.get("recipientType") or "BIREYSEL"
    await conn.execute(store.SQL.insert_change, brand_code, item["transactionId"],
                       item["recipient"], recipient_type, item["type"], item["status"],
                       item["source"], item.get("consentDate"), item.get("creationDate"), item)
    await conn.execute(store.SQL.upsert_key_state, *store.key_state_columns([(
        brand_code, item["recipient"], recipient_type, item["type"], item["status"],
        _date(item.get("consentDate")), item["source"], "pull")]))


def _date(text: str | None) -> datetime | None:
    # a TACIR line closure (IYS_AHS_HAT_KAPATMA) may carry no consentDate
    try:
        return parse_iys(text) if text else None
    except ValueError:
        return None

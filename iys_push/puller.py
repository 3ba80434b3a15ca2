"""İYS-side changes into the mirror: ``GET …/consents/changes`` per brand and source.

``source=IYS``: citizens' movements (e-Devlet, the 3338 short number, the app);
``source=HS``: every service provider's movements for the brand (other integrators, the İYS
portal, and ours, recognised by their transaction id: iys_push.mirror). Each source has its
own stored ``after`` cursor (opaque: stored and sent back as is); 204 means nothing new. Each
page goes through iys_push.mirror.apply_movements together with its cursor in one
transaction, so a crash repeats a page at worst, and the unique key absorbs the repeat. The
feed hides the last 60 minutes and keeps 7 days (IYS_API.md §2.7). A round that ends without
error for both sources fills ``iys_mirror_status.pulled_at`` (the mirror's as_of).
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from iys_push import mirror, store
from iys_push.client import IysClient, IysSettings
from iys_push.mirror_settings import MirrorSettings

log = structlog.get_logger(__name__)

PAGE = 1000  # İYS's maximum (H507 above)
SOURCES = (("IYS", "pull_iys"), ("HS", "pull_hs"))


class Puller:
    def __init__(self, pool: asyncpg.Pool, settings: IysSettings,
                 client: IysClient | None = None, *, interval: float | None = None) -> None:
        self.pool = pool
        self.settings = settings
        self.client = client or IysClient(pool, settings)
        self.interval = MirrorSettings().pull_interval if interval is None else interval

    async def run(self) -> None:
        """Pull every brand now and then every ``interval``; errors are logged, never
        fatal (the next round starts from the stored cursors)."""
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
                await asyncio.sleep(self.interval)
        finally:
            await self.client.close()

    async def pull_once(self, brand_code: int, iys_code: int) -> int:
        """Fetch every new page of both sources for one brand; returns how many movements
        were new. Marks the brand pulled when both sources answered."""
        total = 0
        for source, channel in SOURCES:
            total += await self._pull_source(brand_code, iys_code, source, channel)
        await self.pool.execute(mirror.SQL.mark_pulled, brand_code)
        return total

    async def _pull_source(self, brand_code: int, iys_code: int, source: str,
                           channel: mirror.Channel) -> int:
        total = 0
        while True:
            after = await self.pool.fetchval(mirror.SQL.pull_cursor, brand_code, source)
            answer = await self.client.changes(iys_code, brand_code, after, PAGE, source)
            if answer.status == 204:
                return total
            if not answer.ok or not isinstance(answer.body, dict):
                raise ConnectionError(f"İYS changes feed ({source}): HTTP {answer.status} "
                                      f"{answer.code or ''}")
            raw = answer.body.get("list") or []
            items = []
            for item in raw:
                try:
                    items.append(mirror.movement_of(item))
                except mirror.BadMovement as exc:  # logged and skipped, never fatal
                    log.warning("puller: an item that is not a movement", source=source,
                                brand_code=brand_code, reason=str(exc))
            async with self.pool.acquire() as conn, conn.transaction():
                applied = await mirror.apply_movements(conn, brand_code, items, channel)
                if answer.body.get("after"):
                    await conn.execute(mirror.SQL.save_pull_cursor, brand_code, source,
                                       answer.body["after"])
            total += applied.new - applied.ours
            if len(raw) < PAGE or not answer.body.get("after"):
                return total

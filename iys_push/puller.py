"""İYS-side changes (e-Devlet, the 3338 short number, the app) into our local state view."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import asyncpg
import structlog

from iys_push import store
from iys_push.client import IysClient, IysSettings, TokenHalted
from iys_push.timefmt import parse_iys

log = structlog.get_logger(__name__)


class Puller:
    def __init__(self, pool: asyncpg.Pool, settings: IysSettings,
                 client: IysClient | None = None) -> None:
        self.pool = pool
        self.settings = settings
        self.client = client or IysClient(pool, settings)

    async def run(self) -> None:
        try:
            while True:
                for row in await self._brands():
                    with contextlib.suppress(TokenHalted, ConnectionError, OSError,
                                             aiohttp.ClientError, asyncpg.PostgresError):
                        await self.pull_once(row["brand_code"], row["iys_code"])
                await asyncio.sleep(self.settings.pull_interval)
        finally:
            await self.client.close()

    async def _brands(self) -> list[asyncpg.Record]:
        try:
            return await self.pool.fetch(store.BRAND_ACCOUNTS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return []

    async def pull_once(self, brand_code: int, iys_code: int) -> int:
        """Fetch every page of new İYS-side changes for one brand; returns how many."""
        total = 0
        while True:
            after = await self.pool.fetchval(store.PULL_CURSOR, brand_code)
            query = "?source=IYS&limit=1000" + (f"&after={after}" if after else "")
            answer = await self.client.call(
                "GET", f"/sps/{iys_code}/brands/{brand_code}/consents/changes{query}",
                endpoint="changes")
            if answer.status == 204 or not answer.ok or not isinstance(answer.body, dict):
                return total
            items = answer.body.get("list", [])
            async with self.pool.acquire() as conn, conn.transaction():
                for item in items:
                    await conn.execute(
                        store.INSERT_CHANGE, brand_code, item["transactionId"],
                        item["recipient"], item.get("recipientType", "BIREYSEL"), item["type"],
                        item["status"], item["source"], item.get("consentDate"),
                        item.get("creationDate"), item)
                    date = parse_iys(item["consentDate"]) if item.get("consentDate") else None
                    await conn.execute(
                        store.UPSERT_KEY_STATE, brand_code, item["recipient"],
                        item.get("recipientType", "BIREYSEL"), item["type"], item["status"],
                        date, item["source"], "pull")
                await conn.execute(store.SAVE_PULL_CURSOR, brand_code, answer.body["after"])
            total += len(items)
            if len(items) < 1000:
                return total

"""Each link is bound by exactly one process; another takes it over when the owner dies."""

from __future__ import annotations

import asyncio

import asyncpg

from inbound import db, store
from inbound.links import own_link
from inbound.pipeline import Pipeline
from inbound.service import DEMO_RULES
from inbound.writer import AsyncpgWriter, BatchWriter
from keywords import RuleSet
from tests.smsc_peer import NodeSmsc
from tests.stack import link_settings

RULES = RuleSet.from_toml(DEMO_RULES.read_text(encoding="utf-8"))


async def test_standby_process_takes_the_link_over_when_the_owner_dies(
    dsn: str, pool: asyncpg.Pool, writer: BatchWriter
) -> None:
    async with pool.acquire() as conn:
        await store.replace_rules(conn, RULES.to_dict())
    async with NodeSmsc(password="secret", allow_second_bind=True) as smsc:
        settings = link_settings(smsc.port)
        states_a: dict[str, str] = {}
        states_b: dict[str, str] = {}
        # two "processes": each its own pool, pipeline and lock connection
        pool_b = await db.connect_pool(dsn, min_size=1, max_size=2)
        owner = asyncio.create_task(own_link(dsn, pool, settings,
                                             Pipeline(writer, RULES), states_a))
        await smsc.wait_bound()
        standby = asyncio.create_task(own_link(dsn, pool_b, settings,
                                               Pipeline(AsyncpgWriter(pool_b), RULES),
                                               states_b))
        try:
            mark = smsc.mark()
            # while the owner lives, the standby never binds (observed for 3 lock polls)
            await asyncio.sleep(6)
            assert smsc.find("bind", start=mark) is None
            assert states_b["peer"] == "standby"
            owner.cancel()                      # the owner process dies
            await asyncio.gather(owner, return_exceptions=True)
            bound = await smsc.wait_bound(timeout=10)  # taken over within seconds
            assert bound["status"] == 0
            seq = await smsc.deliver(source_addr="905321234567", source_addr_ton=1,
                                     destination_addr="4609", data_coding=0,
                                     short_message=b"RET ACME")
            assert (await smsc.wait_resp(seq))["status"] == 0
            assert await pool.fetchval("SELECT count(*) FROM mo_message") == 1
        finally:
            standby.cancel()
            owner.cancel()
            await asyncio.gather(owner, standby, return_exceptions=True)
            await pool_b.close()

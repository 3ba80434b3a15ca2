"""Each link is bound by exactly one process; another takes it over when the owner dies."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from inbound import db, links, store
from inbound.links import LOCK_NAMESPACE, link_lock_key, own_link
from inbound.pipeline import Pipeline
from inbound.writer import AsyncpgWriter, BatchWriter
from tests.pipelines import RULES, store_demo_rules
from tests.smsc_peer import NodeSmsc
from tests.stack import link_settings
from tests.waiting import wait_until


async def test_standby_process_takes_the_link_over_when_the_owner_dies(
    dsn: str, pool: asyncpg.Pool, writer: BatchWriter
) -> None:
    await store_demo_rules(pool)
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


_LOCK_HOLDER = ("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = $1 AND objid = $2 AND objsubid = 2")


async def _lock_holder(pool: asyncpg.Pool, name: str) -> int | None:
    return await pool.fetchval(_LOCK_HOLDER, LOCK_NAMESPACE, link_lock_key(name) & 0xFFFFFFFF)


async def test_a_killed_lock_connection_is_replaced_and_the_session_kept(
    dsn: str, pool: asyncpg.Pool, writer: BatchWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(links, "TAKEOVER_POLL_SECONDS", 0.2)
    async with NodeSmsc(password="secret") as smsc:
        settings = link_settings(smsc.port)
        states: dict[str, str] = {}
        owner = asyncio.create_task(own_link(dsn, pool, settings, Pipeline(writer, RULES),
                                             states))
        try:
            await smsc.wait_bound()
            first = await wait_until(lambda: _lock_holder(pool, "peer"), what="the lock")
            mark = smsc.mark()
            await pool.execute("SELECT pg_terminate_backend($1)", first)
            # db.hold_connection notices the dead connection and takes the lock again
            second = await wait_until(lambda: _new_holder(pool, first), what="the lock again")
            assert second != first
            assert states["peer"] == "bound" and smsc.find("bind", start=mark) is None
        finally:
            owner.cancel()
            await asyncio.gather(owner, return_exceptions=True)


async def test_the_session_stops_when_another_process_took_the_lock_meanwhile(
    dsn: str, pool: asyncpg.Pool, writer: BatchWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(links, "TAKEOVER_POLL_SECONDS", 1.0)
    async with NodeSmsc(password="secret") as smsc:
        settings = link_settings(smsc.port)
        states: dict[str, str] = {}
        owner = asyncio.create_task(own_link(dsn, pool, settings, Pipeline(writer, RULES),
                                             states))
        other = await db.connect(dsn)
        try:
            await smsc.wait_bound()
            first = await wait_until(lambda: _lock_holder(pool, "peer"), what="the lock")
            await pool.execute("SELECT pg_terminate_backend($1)", first)

            async def take() -> bool:  # "another process", between the loss and the retry
                return bool(await other.fetchval(store.SQL.try_link_lock, LOCK_NAMESPACE,
                                                 link_lock_key("peer")))

            await wait_until(take, what="the other process's lock")
            await wait_until(lambda: states.get("peer") == "standby",
                             what="the session to stop")
            assert not owner.done()  # still waiting to own the link again
        finally:
            owner.cancel()
            await asyncio.gather(owner, return_exceptions=True)
            await other.close()


async def _new_holder(pool: asyncpg.Pool, old: int) -> int | None:
    pid = await _lock_holder(pool, "peer")
    return pid if pid not in (None, old) else None

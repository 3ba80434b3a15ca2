"""Chaos: kill -9 of the service and a PostgreSQL interruption, each in the middle of a load.

The service is the real thing, ``iys-inbound run`` as a subprocess (a TOML configuration
pointing at the SMSC peer and ``DATABASE_URL`` at this test's database). The SMSC peer
(``tests/peer/smsc.js``, npm ``smpp``) re-sends on rebind whatever a closed session left
unanswered; the load re-sends whatever was answered with an error (``tests/chaos/load.py``).
Small versions (500 MO) run in ``make test``; ``make chaos`` (``IYS_CHAOS_FULL=1``) runs
5,000 MO each. Every test prints what it checked and the counts it found (``pytest -s``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench.harness import PEER_PASSWORD, service_config, service_process
from inbound import db
from tests.chaos.load import FULL, ChaosLoad, scaled, sender
from tests.smsc_peer import NodeSmsc, SmscPeerUnavailable, ensure_installed

try:
    ensure_installed()
except SmscPeerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)

N = scaled(500, 5000)
LOAD_TIMEOUT = 240 if FULL else 40


async def stored(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            "mo_message": await conn.fetchval("SELECT count(*) FROM mo_message"),
            "distinct_source_addr": await conn.fetchval(
                "SELECT count(DISTINCT source_addr) FROM mo_message"),
            "senders": {r[0] for r in await conn.fetch("SELECT source_addr FROM mo_message")},
            "outcomes": {r[0]: r[1] for r in await conn.fetch(
                "SELECT outcome, count(*) FROM mo_message GROUP BY 1")},
            "consent_event": await conn.fetchval("SELECT count(*) FROM consent_event"),
            "duplicated_event_keys": await conn.fetchval(
                "SELECT count(*) FROM (SELECT recipient, brand_id, type, status "
                "FROM consent_event GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d"),
            "events_without_message": await conn.fetchval(
                "SELECT count(*) FROM consent_event e LEFT JOIN mo_message m "
                "ON m.id = e.message_id WHERE m.id IS NULL"),
            "sms_in": await conn.fetchval("SELECT count(*) FROM sms_in"),
            "sms_in_recognised_redeliveries": await conn.fetchval(
                "SELECT count(*) FROM sms_in WHERE redelivery_of IS NOT NULL"),
        }
    finally:
        await conn.close()


def check_exactly_once(found: dict[str, Any], n: int) -> None:
    assert found["mo_message"] == n, found["mo_message"]
    assert found["distinct_source_addr"] == n
    assert found["senders"] == {sender(i) for i in range(n)}
    assert found["outcomes"] == {"consent": n}
    assert found["consent_event"] == n          # "RET ACME" -> exactly one event each
    assert found["duplicated_event_keys"] == 0
    assert found["events_without_message"] == 0
    # every PDU the service got is stored raw: first arrivals plus recognised redeliveries
    assert found["sms_in"] == n + found["sms_in_recognised_redeliveries"]


def report(title: str, load: ChaosLoad, found: dict[str, Any], **extra: Any) -> None:
    shown = {k: v for k, v in found.items() if k != "senders"}
    print(f"\n[chaos] {title}: N={load.n}\n  load: {load.summary()}\n  fault: {extra}\n"
          f"  stored: {shown}\n  checked: every MO acknowledged with ESME_ROK; mo_message = "
          f"distinct source_addr = N; one consent event per MO, no duplicated event; "
          f"sms_in = N + recognised redeliveries")


async def test_kill_9_during_load_then_restart_stores_every_mo_once(
    dsn: str, tmp_path: Path
) -> None:
    async with NodeSmsc(password=PEER_PASSWORD, redeliver_on_rebind=True) as smsc:
        config = service_config(tmp_path / "service.toml", smsc.port)
        log = tmp_path / "service.log"
        load = ChaosLoad(smsc, N)
        async with service_process(config, dsn, log) as first:
            await smsc.wait_bound(timeout=30)
            async with load.running(LOAD_TIMEOUT) as runner:
                await load.until(lambda: load.acknowledged() >= N // 3, 30,
                                 "a third of the load acknowledged")
                at_kill = {"acknowledged": load.acknowledged(),
                           "unanswered": len(load.waiting)}
                first.kill()                       # SIGKILL: no clean-up of any kind
                assert await first.wait() == -9
                await load.until(lambda: load.closes >= 1, 10, "the peer to see the drop")
                at_kill["peer_pending_redelivery"] = (await smsc.stats())["pending_redelivery"]
                async with service_process(config, dsn, log):
                    await smsc.wait_bound(timeout=30)
                    await runner
        found = await stored(dsn)
        report("kill -9 during load, restart, peer redelivers", load, found, **at_kill)
        assert at_kill["acknowledged"] < N             # the kill really was mid-load
        assert load.redelivered_by_peer > 0 or at_kill["unanswered"] == 0
        check_exactly_once(found, N)


async def test_postgres_interruption_during_load_then_everything_stored_once(
    dsn: str, pg_server_dsn: str, tmp_path: Path
) -> None:
    name = dsn.split("?")[0].rsplit("/", 1)[1]
    async with NodeSmsc(password=PEER_PASSWORD, redeliver_on_rebind=True) as smsc:
        config = service_config(tmp_path / "service.toml", smsc.port)
        load = ChaosLoad(smsc, N)
        async with service_process(config, dsn, tmp_path / "service.log"):
            await smsc.wait_bound(timeout=30)
            async with load.running(LOAD_TIMEOUT) as runner:
                admin = await db.connect(pg_server_dsn)
                try:
                    await load.until(lambda: load.acknowledged() >= N // 3, 30,
                                     "a third of the load acknowledged")
                    before = load.summary()
                    # this database goes away: no new connections, every existing one killed
                    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                    await admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
                    # the outage is felt: temporary errors (ESME_RX_T_APPN) or a dropped link
                    await load.until(
                        lambda: load.temporary_errors - before["temporary_errors"] >= 10
                        or load.closes > before["peer_closes"], 20, "the outage to be felt")
                    during = load.summary()
                finally:
                    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                    await admin.close()
                await runner
        found = await stored(dsn)
        fault = {"acknowledged_before": before["acknowledged"],
                 "temporary_errors_during": during["temporary_errors"]
                 - before["temporary_errors"],
                 "link_drops_during": during["peer_closes"] - before["peer_closes"]}
        report("PostgreSQL interruption during load", load, found, **fault)
        assert before["acknowledged"] < N
        assert fault["temporary_errors_during"] > 0 or fault["link_drops_during"] > 0
        check_exactly_once(found, N)

"""One SMS from an independent SMSC (npm `smpp`) to İYS (the sandbox), through everything real:
the service's SMPP session, PostgreSQL, keywords, the pusher and the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from inbound import db, links, service, store
from iys_push.pusher import Pusher
from tests.pdus import gsm7_unpacked, ucs2
from tests.stack import Stack, running_stack
from tests.waiting import wait_until

SEEDED = service.DEMO_RECIPIENT  # consented (ONAY) in the sandbox before the test


@pytest.fixture
async def stack(dsn: str) -> AsyncIterator[Stack]:
    async with running_stack(dsn) as running:
        yield running


async def event_states(pool: asyncpg.Pool, recipient: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT status, type, state, iys_transaction_id FROM consent_event WHERE recipient = $1",
        recipient)


async def accepted(pool: asyncpg.Pool, recipient: str) -> list[asyncpg.Record]:
    rows = await event_states(pool, recipient)
    return rows if rows and all(r["state"] == "accepted" for r in rows) else []


async def test_gsm7_ret_acme_becomes_one_accepted_event_in_the_sandbox(stack: Stack) -> None:
    seq = await stack.smsc.deliver(source_addr="905321234567", source_addr_ton=1,
                                   source_addr_npi=1, destination_addr="4609", data_coding=0,
                                   short_message=gsm7_unpacked("RET ACME"))
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    (event,) = await wait_until(lambda: accepted(stack.pool, SEEDED), what="RET accepted")
    assert (event["status"], event["type"]) == ("RET", "MESAJ")
    assert len(event["iys_transaction_id"]) == 64
    movements = stack.running.sandbox.state.movements_for(700001, SEEDED, "BIREYSEL", "MESAJ")
    assert [m.status for m in movements] == ["ONAY", "RET"]


async def test_ucs2_izin_acme_becomes_one_accepted_event_in_the_sandbox(stack: Stack) -> None:
    recipient = "+905551112233"
    seq = await stack.smsc.deliver(source_addr="905551112233", source_addr_ton=1,
                                   source_addr_npi=1, destination_addr="4609", data_coding=8,
                                   short_message=ucs2("İZİN ACME"))
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    (event,) = await wait_until(lambda: accepted(stack.pool, recipient), what="ONAY accepted")
    assert event["status"] == "ONAY"
    text = await stack.pool.fetchval("SELECT text FROM mo_message WHERE sender = $1", recipient)
    assert text == "İZİN ACME"
    movements = stack.running.sandbox.state.movements_for(700001, recipient, "BIREYSEL", "MESAJ")
    assert [m.status for m in movements] == ["ONAY"]


async def test_deliver_sm_is_not_acknowledged_before_its_row_is_committed(
    stack: Stack, dsn: str
) -> None:
    blocker = await db.connect(dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        # the pipeline's INSERT must wait for this lock, so its commit cannot happen
        await blocker.execute("LOCK TABLE sms_in IN ACCESS EXCLUSIVE MODE")
        seq = await stack.smsc.deliver(source_addr="905321234567", source_addr_ton=1,
                                       source_addr_npi=1, destination_addr="4609",
                                       data_coding=0, short_message=gsm7_unpacked("IZIN ACME"))
        await stack.smsc.expect_no_resp(seq, within=1.0)
        assert await blocker.fetchval("SELECT count(*) FROM sms_in") == 0
        await tx.rollback()  # releases the lock: the pipeline's transaction goes on
        assert (await stack.smsc.wait_resp(seq))["status"] == 0
        assert await blocker.fetchval("SELECT count(*) FROM sms_in") == 1
    finally:
        await blocker.close()


async def test_database_failure_answers_temporary_error_and_stores_nothing(
    stack: Stack, dsn: str
) -> None:
    admin = await db.connect(dsn)
    try:
        # a failing statement inside the pipeline's transaction (as a broken database would)
        await admin.execute("ALTER TABLE sms_in ADD CONSTRAINT no_rows CHECK (false) NOT VALID")
        seq = await stack.smsc.deliver(source_addr="905321234567", source_addr_ton=1,
                                       source_addr_npi=1, destination_addr="4609",
                                       data_coding=0, short_message=gsm7_unpacked("RET ACME"))
        assert (await stack.smsc.wait_resp(seq))["status"] == 0x64  # ESME_RX_T_APPN
        assert await admin.fetchval("SELECT count(*) FROM sms_in") == 0
        await admin.execute("ALTER TABLE sms_in DROP CONSTRAINT no_rows")
        seq = await stack.smsc.deliver(source_addr="905321234567", source_addr_ton=1,
                                       source_addr_npi=1, destination_addr="4609",
                                       data_coding=0, short_message=gsm7_unpacked("RET ACME"))
        assert (await stack.smsc.wait_resp(seq))["status"] == 0
        assert await admin.fetchval("SELECT count(*) FROM sms_in") == 1
    finally:
        await admin.close()


def restarts(task: str) -> float:
    value = REGISTRY.get_sample_value("iys_inbound_task_restarts_total", {"task": task})
    return value or 0.0


async def test_a_pusher_that_ends_on_a_bug_is_started_again_and_the_link_stays_bound(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_gauges = Pusher._gauges
    gauge_starts = 0

    async def gauges_with_a_bug_the_first_time(self: Pusher) -> None:
        # one of the pusher's parts, running beside its rounds and its LISTEN: when it ends,
        # the whole pusher ends and is started again on the same object
        nonlocal gauge_starts
        gauge_starts += 1
        if gauge_starts == 1:
            raise KeyError("a field the pusher did not expect")
        await original_gauges(self)

    before = restarts("pusher")
    monkeypatch.setattr(Pusher, "_gauges", gauges_with_a_bug_the_first_time)
    async with running_stack(dsn) as stack:
        await wait_until(lambda: gauge_starts == 2, what="the pusher's second start")
        seq = await stack.smsc.deliver(source_addr="905321234567", source_addr_ton=1,
                                       source_addr_npi=1, destination_addr="4609",
                                       data_coding=0, short_message=gsm7_unpacked("RET ACME"))
        assert (await stack.smsc.wait_resp(seq))["status"] == 0
        # pushed by the pusher's second start, LISTEN and all
        await wait_until(lambda: accepted(stack.pool, SEEDED), what="RET accepted")
        assert restarts("pusher") - before == 1
        # the rest of the process ran on: one bind, never dropped
        assert stack.smsc.count("bind", lambda e: e["status"] == 0) == 1
        assert stack.running.state.link_states["peer"] == "bound"


async def test_a_link_session_that_ends_on_a_bug_is_counted_and_bound_again(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_run_link = links.run_link
    sessions = 0

    async def run_link_with_a_bug_the_first_time(*args: Any, **kwargs: Any) -> None:
        nonlocal sessions
        sessions += 1
        if sessions == 1:
            raise KeyError("a PDU field the session did not expect")
        await original_run_link(*args, **kwargs)

    before = restarts("link-peer")
    monkeypatch.setattr(links, "run_link", run_link_with_a_bug_the_first_time)
    async with running_stack(dsn) as stack:  # waits for the bind of the second session
        assert sessions == 2
        assert restarts("link-peer") - before == 1  # logged and counted, not looped over
        seq = await stack.smsc.deliver(source_addr="905321234567", source_addr_ton=1,
                                       source_addr_npi=1, destination_addr="4609",
                                       data_coding=0, short_message=gsm7_unpacked("RET ACME"))
        assert (await stack.smsc.wait_resp(seq))["status"] == 0
        await wait_until(lambda: accepted(stack.pool, SEEDED), what="RET accepted")


async def test_a_rules_change_made_elsewhere_is_loaded_by_the_running_service(
    stack: Stack,
) -> None:
    # another process (the API, `rules import`) replaces the rules and NOTIFYs iys_rules;
    # this one's rules listener reloads them (inbound.service._rules_listener)
    rules = stack.running.pipeline.rules.to_dict()
    acme = next(brand for brand in rules["brand"] if brand["id"] == "acme")
    acme["aliases"] = [*acme.get("aliases", []), "ACMEX"]
    async with stack.pool.acquire() as conn:
        await store.replace_rules(conn, rules)

    async def reloaded() -> bool:
        brands = {b.id: b for b in stack.running.pipeline.rules.brands}
        return "ACMEX" in brands["acme"].aliases

    await wait_until(reloaded, what="the running service to load the new rules")

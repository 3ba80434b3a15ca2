"""Repeats and redeliveries over the real SMPP path (issue #24, item 3): the service bound to
the independent SMSC (npm ``smpp``) with a real PostgreSQL. The rule: inbound/redelivery.py,
README "Redeliveries and repeats"."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inbound import db
from tests.smsc_peer import NodeSmsc
from tests.stack import Stack, running_stack

SENDER = {"source_addr": "905321234567", "source_addr_ton": 1, "source_addr_npi": 1}
SHARED, ACME_0850 = "4609", "908505320000"


@pytest.fixture
async def stack(dsn: str) -> AsyncIterator[Stack]:
    async with running_stack(dsn) as running:
        yield running


async def send(stack: Stack, text: str, number: str = SHARED) -> int:
    """One MO, answered before the next is sent (separate messages, as a person sends)."""
    seq = await stack.smsc.deliver(**SENDER, destination_addr=number, data_coding=0,
                                   short_message=text)
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    return seq


async def reconnect(stack: Stack) -> None:
    """Drop the connection (everything sent was answered) and wait for the new bind."""
    await stack.smsc.drop()
    await stack.smsc.wait_bound()


async def statuses(stack: Stack) -> list[str]:
    return [r["status"] for r in await stack.pool.fetch(
        "SELECT status FROM consent_event ORDER BY id")]


async def pdus(stack: Stack) -> list[dict[str, object]]:
    return [dict(r) for r in await stack.pool.fetch(
        "SELECT id, sequence, pdu_digest, session_id, redelivery_of, message_id "
        "FROM sms_in ORDER BY id")]


async def test_izin_ret_izin_on_one_session_are_three_messages(stack: Stack) -> None:
    for text in ("IZIN ACME", "RET ACME", "IZIN ACME"):
        await send(stack, text)
    assert await statuses(stack) == ["ONAY", "RET", "ONAY"]
    rows = await pdus(stack)
    assert rows[0]["pdu_digest"] == rows[2]["pdu_digest"]  # the very same PDU, again
    assert len({r["session_id"] for r in rows}) == 1
    assert [r["redelivery_of"] for r in rows] == [None, None, None]


async def test_izin_ret_evet_ret_on_the_dedicated_number_keep_the_last_ret(
        stack: Stack) -> None:
    for text in ("IZIN", "RET", "EVET", "RET"):
        await send(stack, text, ACME_0850)
    assert await statuses(stack) == ["ONAY", "RET", "ONAY", "RET"]
    assert await stack.count("SELECT count(*) FROM mo_message") == 4


async def test_a_ret_repeated_across_a_reconnect_after_an_evet_is_kept(stack: Stack) -> None:
    for text in ("IZIN", "RET", "EVET"):
        await send(stack, text, ACME_0850)
    await reconnect(stack)
    await send(stack, "RET", ACME_0850)  # could be a resend of the first RET: EVET came between
    assert await statuses(stack) == ["ONAY", "RET", "ONAY", "RET"]
    rows = await pdus(stack)
    assert rows[3]["pdu_digest"] == rows[1]["pdu_digest"]
    assert rows[3]["session_id"] != rows[1]["session_id"]
    assert rows[3]["redelivery_of"] is None and rows[3]["message_id"] is not None


async def test_an_izin_repeated_across_a_reconnect_after_a_ret_is_not_applied(
        stack: Stack) -> None:
    await send(stack, "IZIN ACME")
    await send(stack, "RET ACME")
    await reconnect(stack)
    await send(stack, "IZIN ACME")
    assert await statuses(stack) == ["ONAY", "RET"]
    first, _, again = await pdus(stack)
    assert (again["redelivery_of"], again["message_id"]) == (first["id"], None)


async def test_a_true_redelivery_after_a_dropped_connection_is_stored_once(dsn: str) -> None:
    async with NodeSmsc(password="secret", redeliver_on_rebind=True) as smsc, \
            running_stack(dsn, smsc=smsc) as stack:
        # another person's message first: the batch statements are then prepared on a pool
        # connection (preparing them would wait for the lock below)
        warm = await smsc.deliver(**{**SENDER, "source_addr": "905559998877"},
                                  destination_addr=SHARED, data_coding=0,
                                  short_message="IZIN ACME")
        assert (await smsc.wait_resp(warm))["status"] == 0
        # the row is written only after the connection is gone: its answer never goes out
        blocker = await db.connect(dsn)
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE sms_in IN ACCESS EXCLUSIVE MODE")
        seq = await smsc.deliver(**SENDER, destination_addr=SHARED, data_coding=0,
                                 short_message="RET ACME")
        await smsc.expect_no_resp(seq, within=0.3)
        await smsc.drop()
        await tx.rollback()
        await blocker.close()
        await smsc.wait_bound()  # the new session; the peer sends the same PDU again
        resent = await smsc.wait_event("sent", lambda e: e.get("redelivered", False))
        assert (await smsc.wait_resp(resent["seq"]))["status"] == 0
        # The first copy's statement either committed once the lock went (then the resent
        # copy is its redelivery) or was cancelled with its session (asyncpg cancels the
        # query of a cancelled task; then the resent copy is the message): which one is a
        # race between the drop and the rollback. Either way the RET is stored once.
        rows = (await pdus(stack))[1:]
        again = rows[-1]
        assert again["sequence"] == resent["seq"]
        if len(rows) == 2:
            first = rows[0]
            assert first["sequence"] == seq
            assert first["pdu_digest"] == again["pdu_digest"]
            assert first["session_id"] != again["session_id"]
            assert (again["redelivery_of"], again["message_id"]) == (first["id"], None)
        else:
            assert len(rows) == 1 and again["redelivery_of"] is None
            assert again["message_id"] is not None
        assert await statuses(stack) == ["ONAY", "RET"]
        assert await stack.count("SELECT count(*) FROM mo_message") == 2

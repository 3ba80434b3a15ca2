"""A near miss over the real SMPP path (the npm ``smpp`` peer) and the whole service: stored
as a review item with its message before the deliver_sm_resp, left alone by the pusher while
other events go to İYS, and sent as the RET once confirmed (issue #24, item 2). The near
miss comes from a patched matcher, so the test does not depend on the grammar's words."""

from __future__ import annotations

from typing import Any

import pytest

from inbound import reviews
from tests.near_miss import NEAR_MISS, patch_near_misses
from tests.stack import Stack, running_stack
from tests.waiting import wait_until

SENDER = "905321234567"  # the sandbox's demo recipient, ONAY for ACME beforehand


async def _deliver(stack: Stack, text: str, source: str = SENDER) -> None:
    seq = await stack.smsc.deliver(source_addr=source, source_addr_ton=1,
                                   destination_addr="4609", data_coding=0,
                                   short_message=text.encode())
    assert (await stack.smsc.wait_resp(seq))["status"] == 0


async def _final(stack: Stack, sql: str, *args: Any) -> Any:
    return await stack.pool.fetchval(sql, *args)


async def test_a_near_miss_waits_for_review_and_is_pushed_once_confirmed(
        dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    patch_near_misses(monkeypatch, {NEAR_MISS: "acme"})
    async with running_stack(dsn) as stack:
        await _deliver(stack, NEAR_MISS)
        # committed before the ack: the message and its review item are there already
        assert await stack.count("SELECT count(*) FROM mo_message "
                                 "WHERE outcome = 'needs_review'") == 1
        review_id = await stack.pool.fetchval(
            "SELECT id FROM consent_event WHERE state = 'review'")
        assert review_id is not None
        # a command after it goes to İYS; the review item stays untouched
        await _deliver(stack, "IZIN ACME", source="905551112233")
        await wait_until(lambda: _final(stack, "SELECT count(*) FROM consent_event "
                                        "WHERE state = 'accepted'"), what="ONAY accepted")
        row = await stack.pool.fetchrow("SELECT * FROM consent_event WHERE id = $1", review_id)
        assert (row["state"], row["attempts"]) == ("review", 0)
        assert await stack.count("SELECT count(*) FROM iys_attempt WHERE event_id = $1",
                                 review_id) == 0
        # confirmed, it is the RET: pushed at once, dated when the SMS was received
        actor = reviews.Actor(token_id=None, owner_id=None, admin=True)
        await reviews.decide(stack.pool, "acme", review_id, "confirmed", actor)
        state = await wait_until(lambda: _final(
            stack, "SELECT state FROM consent_event WHERE id = $1 AND state <> 'pending'",
            review_id), what="the confirmed RET settled")
        assert state == "accepted"
        done = await stack.pool.fetchrow("SELECT * FROM consent_event WHERE id = $1",
                                         review_id)
        # the receipt time of the near miss, not of the confirmation (İYS keeps seconds)
        assert done["consent_date"] == row["received_at"].replace(microsecond=0)
        assert done["iys_transaction_id"]

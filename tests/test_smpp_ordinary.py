"""The ordinary-messages and refusals tables of issue #24 over the wire: sent by the
independent SMSC (npm ``smpp``) to the running service on the demo rules, on the shared
number and on ACME's dedicated number, they create no consent event, and no refusal ever
becomes an ONAY (tests/keywords/test_ordinary.py holds the tables)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.keywords.test_ordinary import ORDINARY, ORDINARY_NAMING_THE_BRAND, REFUSALS
from tests.smsc_peer import ucs2
from tests.stack import Stack, running_stack

NUMBERS = ("4609", "908505320000")


@pytest.fixture
async def stack(dsn: str) -> AsyncIterator[Stack]:
    async with running_stack(dsn) as running:
        yield running


async def send_all(stack: Stack, texts: list[str]) -> None:
    """Every text to both numbers from its own sender, each acknowledged (so committed)."""
    sent = 0
    for number in NUMBERS:
        for text in texts:
            sent += 1
            seq = await stack.smsc.deliver(
                source_addr=f"9053{sent:08d}", source_addr_ton=1, source_addr_npi=1,
                destination_addr=number, data_coding=8, short_message=ucs2(text))
            assert (await stack.smsc.wait_resp(seq))["status"] == 0, text
    assert await stack.count("SELECT count(*) FROM mo_message") == sent


@pytest.mark.slow
async def test_ordinary_messages_create_nothing_on_either_number(stack: Stack) -> None:
    await send_all(stack, ORDINARY + ORDINARY_NAMING_THE_BRAND)
    assert await stack.count("SELECT count(*) FROM consent_event") == 0
    assert await stack.count(
        "SELECT count(*) FROM mo_message WHERE outcome IN ('consent', 'needs_review')") == 0


@pytest.mark.slow
async def test_refusals_never_become_an_onay_on_either_number(stack: Stack) -> None:
    await send_all(stack, REFUSALS)
    assert await stack.count("SELECT count(*) FROM consent_event WHERE status = 'ONAY'") == 0
    # each refusal on the dedicated number waits for a person, as a RET to confirm
    waiting = await stack.pool.fetch(
        "SELECT e.state, e.status, m.destination_addr FROM consent_event e "
        "JOIN mo_message m ON m.id = e.message_id WHERE m.destination_addr <> '4609'")
    assert len(waiting) == len(REFUSALS)
    assert {(r["state"], r["status"]) for r in waiting} == {("review", "RET")}

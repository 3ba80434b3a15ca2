"""A link's consent goes to İYS through the same pusher as every other (issue #30): an
HS_WEB RET, and a link RET and a keyword RET of one key within one second in the order of
their consent dates, whichever was stored first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from iys_push.pusher import Pusher
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer
from tests.iys_push.conftest import add_event, drain, settings
from tests.links.conftest import RECIPIENT, Links


@pytest.fixture
async def sb() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(batch_result_delay=0)) as server:
        yield server


async def push_all(links: Links, sb: SandboxServer) -> None:
    pusher = Pusher(links.pool, "", settings(sb), worker_id="w1")
    try:
        await drain(pusher, links.pool)
    finally:
        await pusher.client.close()


async def onay_in_iys(links: Links, sb: SandboxServer) -> None:
    """The key holds an ONAY in İYS (a keyword ONAY a minute ago, pushed)."""
    await add_event(links.pool, RECIPIENT, "ONAY",
                    received_at=datetime.now(UTC) - timedelta(minutes=1))
    await push_all(links, sb)


async def states_by_source(links: Links) -> dict[str, str]:
    rows = await links.pool.fetch("SELECT source, state FROM consent_event WHERE status = 'RET'")
    return {r["source"]: r["state"] for r in rows}


async def test_a_link_ret_is_accepted_by_iys_as_hs_web(links: Links, sb: SandboxServer) -> None:
    await onay_in_iys(links, sb)
    made = await links.mint()
    await links.tap(made["code"])
    await push_all(links, sb)
    moves = sb.state.movements_for(700001, RECIPIENT)
    assert [(m.status, m.source) for m in moves] == [("ONAY", "HS_MESAJ"), ("RET", "HS_WEB")]
    assert await states_by_source(links) == {"HS_WEB": "accepted"}


async def test_link_ret_then_keyword_ret_within_a_second(links: Links,
                                                          sb: SandboxServer) -> None:
    await onay_in_iys(links, sb)
    made = await links.mint()
    await links.tap(made["code"])
    tapped = await links.pool.fetchval("SELECT consent_date FROM consent_event "
                                       "WHERE source = 'HS_WEB'")
    await add_event(links.pool, RECIPIENT, "RET", received_at=tapped + timedelta(
        milliseconds=300))
    await push_all(links, sb)
    moves = sb.state.movements_for(700001, RECIPIENT)
    # the link's RET came first: İYS holds it; the keyword's is a repeat, never sent (H174)
    assert [(m.status, m.source) for m in moves] == [("ONAY", "HS_MESAJ"), ("RET", "HS_WEB")]
    states = await states_by_source(links)
    assert states["HS_WEB"] == "accepted" and states["HS_MESAJ"] != "accepted"


async def test_keyword_ret_stored_after_a_link_ret_it_preceded(links: Links,
                                                                sb: SandboxServer) -> None:
    """The SMS RET was received 400 ms before the tap but stored after it (the pipeline's
    lag): İYS gets the keyword's RET, dated when it was received."""
    await onay_in_iys(links, sb)
    made = await links.mint()
    await links.tap(made["code"])
    tapped = await links.pool.fetchval("SELECT consent_date FROM consent_event "
                                       "WHERE source = 'HS_WEB'")
    await add_event(links.pool, RECIPIENT, "RET", received_at=tapped - timedelta(
        milliseconds=400))
    await push_all(links, sb)
    moves = sb.state.movements_for(700001, RECIPIENT)
    assert [(m.status, m.source) for m in moves] == [("ONAY", "HS_MESAJ"), ("RET", "HS_MESAJ")]
    states = await states_by_source(links)
    assert states["HS_MESAJ"] == "accepted" and states["HS_WEB"] != "accepted"

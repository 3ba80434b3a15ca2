"""Consents recorded through the API go to İYS (the sandbox, over real HTTP) with the SMS
ones, by the same pusher: accepted end to end (EPOSTA, TACIR), in consent-date order per key
whatever the channel, a thousand as one batch request, and a refused one never sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from inbound.api import PREFIX
from iys_push.pusher import Pusher
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer
from iys_push.timefmt import TR, format_iys
from tests.api.conftest import World
from tests.iys_push.conftest import add_event, adds, drain, requests, settings

URL = PREFIX + "/brands/acme/consents"


@pytest.fixture
async def sb() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(batch_result_delay=0)) as server:
        yield server


def given(seconds_ago: float) -> datetime:
    return (datetime.now(TR) - timedelta(seconds=seconds_ago)).replace(microsecond=0)


async def record(world: World, *items: dict[str, Any]) -> Any:
    response = await world.client.post(URL, json={"consents": list(items)},
                                       headers=world.auth("a"))
    assert response.status == 202, await response.text()
    return await response.json()


async def push_all(world: World, sb: SandboxServer) -> None:
    """What the service's pusher does, round after round, until nothing is pending."""
    pusher = Pusher(world.pool, "", settings(sb), worker_id="w1")
    try:
        await drain(pusher, world.pool)
    finally:
        await pusher.client.close()


async def test_an_eposta_consent_and_a_tacir_one_are_accepted(world: World,
                                                              sb: SandboxServer) -> None:
    when = given(60)
    await record(world,
                 {"recipient": "Ali.Veli+kampanya@Example.com", "type": "EPOSTA",
                  "status": "ONAY", "source": "HS_WEB", "consent_date": when.isoformat()},
                 {"recipient": "0532 123 45 67", "type": "MESAJ", "status": "ONAY",
                  "source": "HS_ISLAK_IMZA", "recipient_type": "TACIR",
                  "consent_date": when.isoformat(), "evidence": {"form": "F-12"}})
    await push_all(world, sb)
    rows = await world.pool.fetch("SELECT * FROM consent_event ORDER BY id")
    assert [r["state"] for r in rows] == ["accepted", "accepted"]
    assert all(len(r["iys_transaction_id"]) == 64 for r in rows)
    [mail] = sb.state.movements_for(700001, "ali.veli+kampanya@example.com", type_="EPOSTA")
    assert (mail.status, mail.source, mail.consent_date) == ("ONAY", "HS_WEB", when)
    [tacir] = sb.state.movements_for(700001, "+905321234567", recipient_type="TACIR")
    assert (tacir.source, tacir.recipient_type) == ("HS_ISLAK_IMZA", "TACIR")
    sent = await world.pool.fetchval(
        "SELECT request FROM iys_attempt WHERE event_id = $1", rows[1]["id"])
    # the evidence object stays here: İYS gets exactly its Consent fields
    assert sent == {"consentDate": format_iys(when), "source": "HS_ISLAK_IMZA",
                    "recipient": "+905321234567", "recipientType": "TACIR", "status": "ONAY",
                    "type": "MESAJ"}


async def test_a_refused_consent_never_reaches_iys(world: World, sb: SandboxServer) -> None:
    response = await world.client.post(URL, json={"consents": [
        {"recipient": "0532 123 45 67", "type": "MESAJ", "status": "ONAY", "source": "HS_WEB",
         "consent_date": given(60).isoformat()},
        {"recipient": "0532 123 45 67", "type": "MESAJ", "status": "RET", "source": "HS_WEB",
         "consent_date": given(8 * 86400).isoformat()}]}, headers=world.auth("a"))
    assert response.status == 422
    await push_all(world, sb)
    assert await world.pool.fetchval("SELECT count(*) FROM consent_event") == 0
    assert sum(sb.state.requests.values()) == 0 and sb.state.movements == []


async def test_an_api_onay_then_an_sms_ret_of_one_key_within_a_second_arrive_in_order(
        world: World, sb: SandboxServer) -> None:
    onay_at = given(30)
    await record(world, {"recipient": "+905321234567", "type": "MESAJ", "status": "ONAY",
                         "source": "HS_CAGRI_MERKEZI", "consent_date": onay_at.isoformat()})
    await add_event(world.pool, "+905321234567", "RET",
                    received_at=onay_at + timedelta(milliseconds=400))
    await push_all(world, sb)
    moves = sb.state.movements_for(700001, "+905321234567")
    assert [(m.status, m.source) for m in moves] == [("ONAY", "HS_CAGRI_MERKEZI"),
                                                    ("RET", "HS_MESAJ")]
    # İYS keeps seconds and needs later dates: the RET went one second after the ONAY
    assert moves[1].consent_date == onay_at + timedelta(seconds=1)
    states = [r["state"] for r in await world.pool.fetch(
        "SELECT state FROM consent_event ORDER BY consent_date")]
    assert states == ["accepted", "accepted"]


async def test_a_call_centre_onay_typed_in_after_an_sms_ret_goes_first_by_consent_date(
        world: World, sb: SandboxServer) -> None:
    """The SMS RET is stored first; the ONAY the person gave on the phone a minute before it
    is typed in afterwards. İYS must see ONAY then RET: the recipient's last word is RET."""
    ret_at = given(60)
    await add_event(world.pool, "+905321234567", "RET", received_at=ret_at)
    await record(world, {"recipient": "+905321234567", "type": "MESAJ", "status": "ONAY",
                         "source": "HS_CAGRI_MERKEZI",
                         "consent_date": (ret_at - timedelta(minutes=1)).isoformat()})
    await push_all(world, sb)
    assert [m.status for m in sb.state.movements_for(700001, "+905321234567")] == [
        "ONAY", "RET"]


async def test_a_thousand_consents_of_one_request_go_as_one_batch_request(
        world: World, sb: SandboxServer) -> None:
    when = given(60).isoformat()
    await record(world, *({"recipient": f"+90532{i:07d}", "type": "MESAJ", "status": "ONAY",
                           "source": "HS_WEB", "consent_date": when} for i in range(1000)))
    await push_all(world, sb)
    assert requests(sb, "POST /v2/sps/{iys}/brands/{brand}/consents/request 202") == 1
    assert adds(sb) == 0
    # one token call, one submission, the result polls: far within a second of the budget
    sent = {k: n for k, n in sb.state.requests.items() if "result" not in k and "GET" not in k}
    assert sum(sent.values()) == 2, sent
    assert await world.pool.fetchval(
        "SELECT count(*) FROM consent_event WHERE state = 'accepted'") == 1000
    assert len(sb.state.movements) == 1000


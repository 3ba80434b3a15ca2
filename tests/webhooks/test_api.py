"""``/api/v1/webhooks``: owner-scoped endpoints, the secret shown once, refused targets,
rotation, replay, resume and the delivery log."""

from __future__ import annotations

from typing import Any

import pytest

from inbound.api import PREFIX
from inbound.webhooks.safety import AddressPolicy
from tests.api.conftest import World, add_message, make_app
from tests.webhooks.conftest import FakeClock, Receiver, deliverer

URL = PREFIX + "/webhooks"
BODY = {"url": "https://crm.acme.example/iys", "events": ["consent.received",
                                                           "consent.settled"]}


async def create(world: World, who: str = "a", **body: Any) -> Any:
    response = await world.client.post(URL, json={**BODY, **body}, headers=world.auth(who))
    return response.status, await response.json()


async def test_created_with_a_secret_shown_once_and_listed_only_for_its_owner(
        world: World) -> None:
    status, created = await create(world, brands=["acme"], recipient="full")
    assert status == 201, created
    assert created["secret"].startswith("whsec_") and created["owner_id"] == world.owner_a
    one = await (await world.client.get(f"{URL}/{created['id']}",
                                        headers=world.auth("a"))).json()
    assert "secret" not in one and one["brands"] == ["acme"] and one["recipient"] == "full"
    listed_b = await (await world.client.get(URL, headers=world.auth("b"))).json()
    assert listed_b["items"] == []
    assert (await world.client.get(f"{URL}/{created['id']}",
                                   headers=world.auth("b"))).status == 404
    assert (await world.client.delete(f"{URL}/{created['id']}",
                                      headers=world.auth("b"))).status == 404
    listed_admin = await (await world.client.get(URL, headers=world.auth("admin"))).json()
    assert [w["id"] for w in listed_admin["items"]] == [created["id"]]
    assert (await world.client.delete(f"{URL}/{created['id']}",
                                      headers=world.auth("a"))).status == 204
    assert (await (await world.client.get(URL, headers=world.auth("a"))).json())["items"] == []


async def test_the_operator_names_the_owner(world: World) -> None:
    status, _ = await create(world, "admin")
    assert status == 422
    status, created = await create(world, "admin", owner_id=world.owner_b)
    assert status == 201 and created["owner_id"] == world.owner_b
    status, _ = await create(world, "a", owner_id=world.owner_b)
    assert status == 404


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/x", "https://10.1.2.3/x", "https://[::1]/x", "https://169.254.169.254/",
    "https://192.168.0.10/x", "https://localhost/x", "https://[::ffff:10.0.0.1]/x",
    "http://crm.acme.example/x", "ftp://crm.acme.example/x", "https://user:pw@crm.example/x",
    "https://224.0.0.1/x", "https://0.0.0.0/x",
])
async def test_private_loopback_and_plain_http_targets_are_refused(world: World,
                                                                   url: str) -> None:
    status, body = await create(world, url=url)
    assert status == 422, body
    assert body["errors"][0]["field"] == "url"


async def test_another_owners_brand_cannot_be_a_filter(world: World) -> None:
    status, body = await create(world, brands=["kuzey"])
    assert status == 422 and body["errors"][0]["field"] == "brands[0]"
    assert "kuzey" not in body["detail"] or "not one of the owner's brands" in body["detail"]


async def test_unknown_kinds_refused(world: World) -> None:
    status, body = await create(world, events=["consent.exploded"])
    assert status == 422 and body["errors"][0]["field"] == "events[0]"


async def test_rotate_resume_replay_and_log(world: World, receiver: Receiver,
                                            aiohttp_client: Any) -> None:
    # as the zero-config service sets it: loopback allowed (the receiver is local)
    from inbound.api.routes_webhooks import POLICY

    app = make_app(world.pool)
    app[POLICY] = AddressPolicy(allow_loopback=True)
    world.client = await aiohttp_client(app)
    status, created = await create(world, url=receiver.url)
    assert status == 201, created
    wid = created["id"]
    rotated = await (await world.client.post(f"{URL}/{wid}/rotate", json={"overlap_hours": 1},
                                             headers=world.auth("a"))).json()
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_until"]
    receiver.secrets = [rotated["secret"]]
    await add_message(world.pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending")
    d = deliverer(world.pool, FakeClock())
    await d.step()
    assert len(receiver.received) == 1
    log = await (await world.client.get(f"{URL}/{wid}/deliveries",
                                        headers=world.auth("a"))).json()
    [attempt] = log["items"]
    assert attempt["outcome"] == "delivered" and attempt["type"] == "consent.received"
    assert attempt["sequence"] == 1
    assert (await world.client.get(f"{URL}/{wid}/deliveries",
                                   headers=world.auth("b"))).status == 404
    replay = await world.client.post(f"{URL}/{wid}/replay",
                                     json={"since": "2000-01-01T00:00:00Z"},
                                     headers=world.auth("a"))
    assert (await replay.json())["replayed"] == 1
    d.clock.advance(minutes=1)  # type: ignore[attr-defined]  # the replay is due at real now
    await d.step()
    assert len(receiver.received) == 2
    assert receiver.headers[0]["webhook-id"] == receiver.headers[1]["webhook-id"]
    resumed = await world.client.post(f"{URL}/{wid}/resume", headers=world.auth("a"))
    assert resumed.status == 200 and (await resumed.json())["paused_at"] is None

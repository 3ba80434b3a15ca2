"""``/api/v1/notices``: e-mail notice subscriptions through the API, owner-scoped (another
owner's is a 404), writes for the role admin, the same address twice one subscription."""

from __future__ import annotations

from typing import Any

from inbound.api import PREFIX
from tests.api.conftest import World

URL = PREFIX + "/notices"


async def post(world: World, who: str = "a", **body: Any) -> tuple[int, Any]:
    response = await world.client.post(URL, json=body, headers=world.auth(who))
    return response.status, await response.json()


async def listed(world: World, who: str) -> list[dict[str, Any]]:
    response = await world.client.get(URL, headers=world.auth(who))
    assert response.status == 200
    return (await response.json())["items"]


async def test_an_owner_subscribes_lists_changes_and_removes_its_own(world: World) -> None:
    status, created = await post(world, email="ops@acme.example", immediate=["review"])
    assert status == 201, created
    assert created["owner_id"] == world.owner_a and created["digest"] is True
    assert created["immediate"] == ["review"]
    # the same address again changes its choices: still one subscription
    status, changed = await post(world, email="ops@acme.example", digest=False)
    assert status == 200 and changed["id"] == created["id"]
    assert changed["digest"] is False and changed["immediate"] == [
        "ret_deadline", "review", "failed", "drift"]
    assert [s["id"] for s in await listed(world, "a")] == [created["id"]]
    one = await world.client.get(f"{URL}/{created['id']}", headers=world.auth("a"))
    assert (await one.json())["email"] == "ops@acme.example"
    # the CLI and the notifier read the same table
    assert await world.pool.fetchval(
        "SELECT digest FROM notice_subscription WHERE id = $1", created["id"]) is False
    gone = await world.client.delete(f"{URL}/{created['id']}", headers=world.auth("a"))
    assert gone.status == 204
    assert await listed(world, "a") == []
    again = await world.client.delete(f"{URL}/{created['id']}", headers=world.auth("a"))
    assert again.status == 404


async def test_another_owner_neither_sees_nor_removes_nor_subscribes_for_it(
        world: World) -> None:
    _, created = await post(world, email="ops@acme.example")
    assert await listed(world, "b") == []
    for method in ("get", "delete"):
        response = await getattr(world.client, method)(f"{URL}/{created['id']}",
                                                       headers=world.auth("b"))
        assert response.status == 404
    status, _ = await post(world, "b", email="x@kuzey.example", owner_id=world.owner_a)
    assert status == 404
    assert await world.pool.fetchval("SELECT count(*) FROM notice_subscription") == 1
    # the operator sees every owner's and names the owner when it subscribes
    assert [s["id"] for s in await listed(world, "admin")] == [created["id"]]
    status, _ = await post(world, "admin", email="ops@kuzey.example")
    assert status == 422
    status, made = await post(world, "admin", email="ops@kuzey.example",
                              owner_id=world.owner_b)
    assert status == 201 and made["owner_id"] == world.owner_b
    assert [s["email"] for s in await listed(world, "b")] == ["ops@kuzey.example"]


async def test_bad_input_is_refused_with_the_field(world: World) -> None:
    for body, field in (({"email": "not-an-address"}, "email"),
                        ({"email": "a@b@c.example"}, "email"),
                        ({"email": "ops@acme.example", "immediate": ["everything"]},
                         "immediate[0]"),
                        ({"email": "ops@acme.example", "immediate": ["review", "review"]},
                         "immediate"),
                        ({"email": "ops@acme.example", "digest": "yes"}, "digest")):
        status, problem = await post(world, **body)
        assert status == 422, body
        assert problem["errors"][0]["field"] == field
    assert await listed(world, "a") == []


async def test_a_viewer_token_reads_but_does_not_subscribe(world: World) -> None:
    made = await world.client.post(PREFIX + "/tokens", json={"name": "v", "role": "viewer"},
                                   headers=world.auth("a"))
    viewer = {"Authorization": f"Bearer {(await made.json())['token']}"}
    refused = await world.client.post(URL, json={"email": "ops@acme.example"},
                                      headers=viewer)
    assert refused.status == 403
    assert (await world.client.get(URL, headers=viewer)).status == 200

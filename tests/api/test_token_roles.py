"""API tokens carry a role (issue #33): viewer reads, agent also records consents and
decides review items, admin does everything for its owner; the operator is above roles."""

from __future__ import annotations

from tests.api.conftest import World


async def _token(world: World, role: str) -> dict[str, str]:
    response = await world.client.post("/api/v1/tokens", json={"name": role, "role": role},
                                       headers=world.auth("a"))
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["role"] == role
    return {"Authorization": f"Bearer {body['token']}"}


async def test_roles_decide_what_a_token_may_write(world: World) -> None:
    viewer, agent = await _token(world, "viewer"), await _token(world, "agent")
    consent = {"recipient": "+905321234567", "type": "MESAJ", "status": "RET",
               "source": "HS_WEB", "consent_date": "2099-01-01T10:00:00+03:00"}
    for headers in (viewer, agent):
        assert (await world.client.get("/api/v1/brands/acme/events",
                                       headers=headers)).status == 200
    refused = await world.client.post("/api/v1/brands/acme/consents", json=consent,
                                      headers=viewer)
    assert refused.status == 403
    # the agent passes the role check (the date in the future is then refused on its own)
    as_agent = await world.client.post("/api/v1/brands/acme/consents", json=consent,
                                       headers=agent)
    assert as_agent.status == 422
    for headers in (viewer, agent):
        patch = await world.client.patch("/api/v1/brands/acme", json={"aliases": []},
                                          headers=headers)
        assert patch.status == 403
        assert (await patch.json())["detail"] == "this action needs the role admin"
        made = await world.client.post("/api/v1/tokens", json={"name": "x"}, headers=headers)
        assert made.status == 403


async def test_an_unknown_role_is_refused_and_the_default_is_admin(world: World) -> None:
    bad = await world.client.post("/api/v1/tokens", json={"role": "owner"},
                                  headers=world.auth("a"))
    assert bad.status == 422
    made = await world.client.post("/api/v1/tokens", json={}, headers=world.auth("a"))
    assert (await made.json())["role"] == "admin"
    listed = await world.client.get("/api/v1/tokens", headers=world.auth("a"))
    assert {t["role"] for t in (await listed.json())["items"]} == {"admin"}

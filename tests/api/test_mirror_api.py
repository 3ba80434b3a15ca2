"""GET/POST /api/v1/brands/{brand}/reconciliations: the mirror's state and a day's report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from inbound.api import PREFIX, create_api
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.timefmt import TR
from tests.api.conftest import ADMIN_TOKEN, World
from tests.iys_push.conftest import settings


@pytest.fixture
async def sandbox_world(world: World, aiohttp_client: Any) -> AsyncIterator[
        tuple[World, SandboxServer]]:
    async with SandboxServer(SandboxConfig()) as sb:
        app = web.Application()
        app.add_subapp(PREFIX, create_api(world.pool, admin_token=ADMIN_TOKEN,
                                          iys_settings=settings(sb)))
        world.client = await aiohttp_client(app)
        yield world, sb


async def test_a_run_is_reported_and_agreed_only_on_request(
        sandbox_world: tuple[World, SandboxServer]) -> None:
    world, sb = sandbox_world
    await seed_consent(sb, brand_code=700001, recipient="+905321234567")
    today = sb.clock.now().astimezone(TR).date().isoformat()
    url = "/api/v1/brands/acme/reconciliations"
    first = await world.client.post(url, json={"date": today}, headers=world.auth("a"))
    assert first.status == 200, await first.text()
    report = (await first.json())["items"][0]
    assert (report["outcome"], report["applied"], report["agreed_at"]) == ("matched", 1, None)
    agreed = await (await world.client.post(url, json={"date": today, "agree": True},
                                            headers=world.auth("a"))).json()
    assert agreed["items"][0]["agreed_at"] is not None
    assert agreed["mirror"]["reconciled_day"] == today
    listed = await (await world.client.get(url, params={"date": today},
                                           headers=world.auth("a"))).json()
    assert [r["runs"] for r in listed["items"]] == [2]
    assert listed["auto_agree"] is False
    setting = await (await world.client.post(url, json={"auto_agree": True},
                                             headers=world.auth("a"))).json()
    assert setting["auto_agree"] is True
    audit = await (await world.client.get("/api/v1/audit", params={"resource": "reconciliation"},
                                          headers=world.auth("a"))).json()
    assert [e["resource_id"] for e in audit["items"]] == [f"acme/{today}"]
    assert audit["items"][0]["action"] == "agree"


async def test_bad_input_is_422_and_another_owners_brand_404(
        sandbox_world: tuple[World, SandboxServer]) -> None:
    world, _ = sandbox_world
    url = "/api/v1/brands/acme/reconciliations"
    for body in ({"date": "2020-01-01"}, {"date": "2026-02-30"}, {"date": 5}, {},
                 {"date": "2026-12-01", "agree": "yes"}, {"day": "x"}):
        response = await world.client.post(url, json=body, headers=world.auth("a"))
        assert response.status == 422, body
    assert (await world.client.get(url, headers=world.auth("b"))).status == 404
    assert (await world.client.get(url, params={"date": "yesterday"},
                                   headers=world.auth("a"))).status == 422

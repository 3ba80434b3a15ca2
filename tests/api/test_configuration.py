"""Configuration through the API: validated like `rules import`, audited, and announced
to the running pipelines with NOTIFY iys_rules in the same transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from inbound import db
from keywords import RuleSet
from tests.api.conftest import World

NEW_BRAND = {"id": "acme-eczane", "name": "ACME ECZANE", "aliases": ["ECZANE"],
             "iys_code": 700001, "brand_code": 700003}


@pytest.fixture
async def rules_notifications(dsn: str) -> AsyncIterator[asyncio.Queue[str]]:
    """What a pipeline's rules listener would receive."""
    conn = await db.connect(dsn)
    queue: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener("iys_rules", lambda *args: queue.put_nowait(args[1]))
    yield queue
    await conn.close()


async def test_owner_creates_reads_updates_and_deletes_a_brand(
    world: World, rules_notifications: asyncio.Queue[str],
) -> None:
    c, a = world.client, world.auth("a")
    created = await c.post("/api/v1/brands", headers=a, json=NEW_BRAND)
    assert created.status == 201
    assert (await created.json())["owner_id"] == world.owner_a
    await asyncio.wait_for(rules_notifications.get(), 5)

    patched = await c.patch("/api/v1/brands/acme-eczane", headers=a,
                            json={"aliases": ["ECZANE", "ACME SAGLIK"],
                                  "replies": {"RET": "{brand}: çıkışınız alındı"}})
    assert patched.status == 200
    assert (await patched.json())["aliases"] == ["ECZANE", "ACME SAGLIK"]
    await asyncio.wait_for(rules_notifications.get(), 5)

    # the database now holds rules the pipeline can load, with the new brand in them
    from inbound import store
    rules = RuleSet.from_dict(await store.load_rules_dict(world.pool))
    assert rules.brand("acme-eczane").aliases == ("ECZANE", "ACME SAGLIK")

    got = await (await c.get("/api/v1/brands/acme-eczane", headers=a)).json()
    assert got["replies"] == {"RET": "{brand}: çıkışınız alındı"}
    assert (await c.delete("/api/v1/brands/acme-eczane", headers=a)).status == 204
    assert (await c.get("/api/v1/brands/acme-eczane", headers=a)).status == 404


async def test_vocabulary_and_replies_have_their_own_crud(world: World) -> None:
    c, a = world.client, world.auth("a")
    url = "/api/v1/brands/acme/vocabulary"
    put = await c.put(url, headers=a, json={"extra_opt_out": ["BITIR"],
                                            "extra_channels": {"CAGRI": ["ARAMA"]}})
    assert put.status == 200
    assert await (await c.get(url, headers=a)).json() == {
        "extra_opt_out": ["BITIR"], "extra_channels": {"CAGRI": ["ARAMA"]}}
    explained = await (await c.post("/api/v1/explain", headers=a, json={
        "number": "908505320000", "text": "bitir cagri"})).json()
    assert explained["outcome"] == "consent"
    assert explained["events"][0]["types"] == ["ARAMA"]
    assert (await c.delete(url, headers=a)).status == 204
    assert await (await c.get(url, headers=a)).json() == {}

    replies = "/api/v1/brands/acme/replies"
    assert (await c.put(replies, headers=a, json={"ONAY": ""})).status == 200
    assert await (await c.get(replies, headers=a)).json() == {"ONAY": ""}
    bad = await c.put(replies, headers=a, json={"HELLO": "x"})
    assert bad.status == 422
    assert (await bad.json())["errors"] == [{"field": "HELLO", "reason": "unknown field"}]


async def test_a_vocabulary_word_that_is_a_brand_word_is_a_409_listing_every_conflict(
    world: World,
) -> None:
    response = await world.client.put("/api/v1/brands/acme/vocabulary",
                                      headers=world.auth("admin"),
                                      json={"extra_opt_out": ["KUZEY", "ACME MARKET"],
                                            "extra_opt_in": ["BITIR"],
                                            "removed_opt_out": [], "removed_opt_in": []})
    assert response.status == 409
    body = await response.json()
    assert body["title"] == "Conflicting keyword rules"
    found = sorted((e["number"], e["word"]) for e in body["errors"])
    assert found == [("4609", "acme market"), ("4609", "kuzey"),
                     ("908505320000", "acme market")]
    assert await world.pool.fetchval("SELECT settings FROM brand WHERE id = 'acme'") == {}


async def test_invalid_input_names_the_field(world: World) -> None:
    c, a = world.client, world.auth("a")
    cases = [({**NEW_BRAND, "iys_code": "700001"}, "iys_code"),
             ({**NEW_BRAND, "id": "Bad Id"}, "id"),
             ({**NEW_BRAND, "name": ""}, "name"),
             ({**NEW_BRAND, "colour": "red"}, "colour"),
             ({**NEW_BRAND, "aliases": "ECZANE"}, "aliases"),
             ({**NEW_BRAND, "vocabulary": {"extra_channels": {"X": ["FAX"]}}},
              "vocabulary.extra_channels.X")]
    for body, field in cases:
        response = await c.post("/api/v1/brands", headers=a, json=body)
        assert response.status == 422, field
        assert response.content_type == "application/problem+json"
        assert (await response.json())["errors"][0]["field"] == field
    assert (await c.post("/api/v1/brands", headers=a, data="{")).status == 415
    broken = await c.post("/api/v1/brands", headers={**a, "Content-Type": "application/json"},
                          data="{")
    assert broken.status == 422


async def test_bodies_over_the_limit_are_413(world: World) -> None:
    huge = {**NEW_BRAND, "aliases": ["A" * 100] * 50, "name": "N" * 70_000}
    response = await world.client.post("/api/v1/brands", headers=world.auth("a"), json=huge)
    assert response.status == 413
    assert response.content_type == "application/problem+json"


async def test_operator_manages_numbers_and_their_links(world: World) -> None:
    c, op = world.client, world.auth("admin")
    created = await c.post("/api/v1/numbers", headers=op, json={
        "msisdn": "3434", "shared": True, "brands": ["acme"], "links": ["turkcell-1"]})
    assert created.status == 201
    assert (await created.json())["links"] == ["turkcell-1"]
    duplicate = await c.post("/api/v1/numbers", headers=op, json={"msisdn": "3434",
                                                                   "shared": True})
    assert duplicate.status == 409
    patched = await c.patch("/api/v1/numbers/3434", headers=op,
                            json={"links": ["turkcell-1", "vodafone-1"]})
    assert (await patched.json())["links"] == ["turkcell-1", "vodafone-1"]
    # owner A sees 3434 (it serves acme); B does not
    assert (await c.get("/api/v1/numbers/3434", headers=world.auth("a"))).status == 200
    assert (await c.get("/api/v1/numbers/3434", headers=world.auth("b"))).status == 404
    unknown = await c.post("/api/v1/numbers", headers=op, json={"msisdn": "3535",
                                                                 "brand": "nope"})
    assert unknown.status == 409
    assert "unknown brand 'nope'" in (await unknown.json())["errors"][0]["reason"]
    assert (await c.delete("/api/v1/numbers/3434", headers=op)).status == 204
    assert await world.pool.fetchval("SELECT count(*) FROM number_link") == 0


async def test_every_change_is_audited_with_before_and_after(world: World) -> None:
    c, a = world.client, world.auth("a")
    await c.patch("/api/v1/brands/acme", headers=a, json={"aliases": ["ACME MARKET", "AM"]})
    page = await (await c.get("/api/v1/audit?resource=brand&resource_id=acme",
                              headers=a)).json()
    entry = page["items"][0]
    assert entry["action"] == "update"
    assert entry["before"]["aliases"] == ["ACME MARKET"]
    assert entry["after"]["aliases"] == ["ACME MARKET", "AM"]
    token_id = (await (await c.get("/api/v1/me", headers=a)).json())["token_id"]
    assert entry["actor"] == {"admin": False, "owner_id": world.owner_a, "token_id": token_id,
                              "via": "api"}
    # B's history does not contain A's change
    b_page = await (await c.get("/api/v1/audit", headers=world.auth("b"))).json()
    assert all(e["resource_id"] != "acme" for e in b_page["items"])


async def test_rules_round_trip_through_export_and_import(world: World) -> None:
    c, op = world.client, world.auth("admin")
    exported = await c.get("/api/v1/rules?format=toml", headers=op)
    toml = await exported.text()
    assert 'id = "acme"' in toml and f"owner = {world.owner_a}" in toml
    changed = toml.replace('"ACME MARKET"', '"ACME MARKET", "ACME AVM"')
    imported = await c.put("/api/v1/rules", headers={**op, "Content-Type": "application/toml"},
                           data=changed)
    assert imported.status == 200, await imported.text()
    brand = await (await c.get("/api/v1/brands/acme", headers=op)).json()
    assert brand["aliases"] == ["ACME MARKET", "ACME AVM"]
    assert brand["owner_id"] == world.owner_a


async def test_rules_import_with_conflicts_changes_nothing_and_lists_them_all(
    world: World,
) -> None:
    a = world.auth("a")
    own = await (await world.client.get("/api/v1/rules", headers=a)).json()
    own["brand"][0]["aliases"] = ["KUZEY", "RET"]
    response = await world.client.put("/api/v1/rules", headers=a, json=own)
    assert response.status == 409
    reasons = [e["reason"] for e in (await response.json())["errors"]]
    assert "'kuzey' is already used by another brand on 4609" in reasons
    assert any("'ret'" in r for r in reasons)
    assert await world.pool.fetchval("SELECT aliases FROM brand WHERE id = 'acme'") \
        == ["ACME MARKET"]


async def test_the_link_pages_privacy_notice_is_a_brand_setting(world: World) -> None:
    c, a = world.client, world.auth("a")
    url = "/api/v1/brands/acme"
    assert (await (await c.get(url, headers=a)).json())["privacy_notice"] is None
    for bad in ({"url": "ftp://acme.example"}, {"url": "https://a", "text": "b"}, {},
                {"text": ""}, "https://acme.example", {"link": "https://acme.example"}):
        refused = await c.patch(url, headers=a, json={"privacy_notice": bad})
        assert refused.status == 422, bad
    notice = {"url": "https://acme.example/kvkk"}
    patched = await c.patch(url, headers=a, json={"privacy_notice": notice})
    assert patched.status == 200 and (await patched.json())["privacy_notice"] == notice
    # the link page reads it; the pipeline's rules load with it
    assert await world.pool.fetchval("SELECT settings -> 'privacy_notice' ->> 'url' FROM brand"
                                     " WHERE id = 'acme'") == notice["url"]
    from inbound import store
    rules = RuleSet.from_dict(await store.load_rules_dict(world.pool))
    assert dict(rules.brand("acme").privacy_notice) == notice
    assert RuleSet.from_dict(rules.to_dict()).brand("acme").privacy_notice == (
        ("url", notice["url"]),)
    cleared = await c.patch(url, headers=a, json={"privacy_notice": None})
    assert (await cleared.json())["privacy_notice"] is None

"""Owners cannot take each other's words (issue #24, item 4), through the API.

In ``world`` owner A has ACME (alias ACME MARKET, code 700001) and owner B has KUZEY KAHVE
(alias KUZEY, code 700002), both on the shared 4609. A name or alias one typo from another
owner's brand word, or extending it, is refused like an exact conflict, without naming it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import World


def brand(name: str, *, aliases: tuple[str, ...] = (), code: int = 700009,
          brand_id: str = "acme-new") -> dict[str, Any]:
    return {"id": brand_id, "name": name, "aliases": list(aliases), "iys_code": 700001,
            "brand_code": code}


async def brand_ids(world: World) -> list[str]:
    return [r["id"] for r in await world.pool.fetch("SELECT id FROM brand ORDER BY id")]


@pytest.mark.parametrize(("name", "aliases", "word"), [
    ("KUZEYY", (), "kuzeyy"),                        # one typo of alias KUZEY
    ("KUZEY KAHVESI", (), "kuzey kahvesi"),          # extends KUZEY (and KUZEY KAHVE)
    ("KUZEY MARKET", (), "kuzey market"),            # extends alias KUZEY word-wise
    ("KUZEYKAHVE", (), "kuzeykahve"),                # KUZEY KAHVE without its space
    ("ACME KAHVE", ("KUZY KAHVE",), "kuzy kahve"),   # an alias one typo from the name
])
async def test_a_word_close_to_another_owners_brand_is_refused_without_naming_it(
        world: World, name: str, aliases: tuple[str, ...], word: str) -> None:
    before = await brand_ids(world)
    response = await world.client.post("/api/v1/brands", headers=world.auth("a"),
                                       json=brand(name, aliases=aliases))
    assert response.status == 409
    body = await response.json()
    assert body["errors"] == [{"field": "rules", "word": word, "number": "4609",
                               "reason": f"{word!r} is too close to a word of another brand "
                                         "on 4609"}]
    assert "kuzey kahve'" not in body["detail"].lower() and "'kuzey'" not in body["detail"]
    assert await brand_ids(world) == before


async def test_an_alias_added_to_an_existing_brand_is_checked_too(world: World) -> None:
    response = await world.client.patch("/api/v1/brands/acme", headers=world.auth("a"),
                                        json={"aliases": ["ACME MARKET", "KUZEYY"]})
    assert response.status == 409
    assert [e["word"] for e in (await response.json())["errors"]] == ["kuzeyy"]
    assert await world.pool.fetchval("SELECT aliases FROM brand WHERE id = 'acme'") == [
        "ACME MARKET"]


async def test_an_owners_own_brands_may_be_close_and_codes_are_compared_exactly(
        world: World) -> None:
    # ACMEE is one typo from A's own ACME; 700003 is one digit from B's 700002
    response = await world.client.post("/api/v1/brands", headers=world.auth("a"),
                                       json=brand("ACMEE", aliases=("ACME MARKETI",),
                                                  code=700003))
    assert response.status == 201
    assert "acme-new" in await brand_ids(world)


async def test_the_operators_brands_count_as_one_more_owner(world: World) -> None:
    admin = world.auth("admin")
    created = await world.client.post("/api/v1/brands", headers=admin,
                                      json=brand("KUZEY KAHVESI", brand_id="ops-kahve"))
    assert created.status == 409
    reason = (await created.json())["errors"][0]["reason"]
    assert "kuzey" in reason and "ops-kahve" in reason  # the operator is told which brands
    # and an owner cannot come close to the operator's own brand either
    ops = await world.client.post("/api/v1/brands", headers=admin,
                                  json=brand("OPERATOR SMS", brand_id="ops", code=700020))
    assert ops.status == 201
    near = await world.client.post("/api/v1/brands", headers=world.auth("b"),
                                   json=brand("OPERATR SMS", brand_id="kuzey-sms"))
    assert near.status == 409


async def test_existing_close_words_do_not_block_unrelated_edits(world: World) -> None:
    # data from before the rule: B's brand already has an alias one typo from A's ACME
    await world.pool.execute("UPDATE brand SET aliases = '{KUZEY,ACMEE}' WHERE id = 'kuzey'")
    replies = await world.client.put("/api/v1/brands/acme/replies", headers=world.auth("a"),
                                     json={"RET": "{brand}: çıkışınız alındı"})
    assert replies.status == 200
    # but touching B's aliases again checks them
    again = await world.client.patch("/api/v1/brands/kuzey", headers=world.auth("b"),
                                     json={"aliases": ["KUZEY", "ACMEE", "KAHVECI"]})
    assert again.status == 409
    assert [e["word"] for e in (await again.json())["errors"]] == ["acmee"]


@pytest.mark.parametrize("word", ["RET", "IPTAL", "HAYIR", "DUR", "STOP"])
async def test_the_regulations_opt_out_words_cannot_be_removed(world: World,
                                                               word: str) -> None:
    response = await world.client.put("/api/v1/brands/acme/vocabulary", headers=world.auth("a"),
                                      json={"removed_opt_out": [word]})
    assert response.status == 409
    body = await response.json()
    assert body["errors"][0]["word"] == word
    assert "cannot be removed" in body["errors"][0]["reason"]
    assert await world.pool.fetchval("SELECT settings FROM brand WHERE id = 'acme'") == {}


async def test_other_default_opt_out_words_may_still_be_removed(world: World) -> None:
    response = await world.client.put("/api/v1/brands/acme/vocabulary", headers=world.auth("a"),
                                      json={"removed_opt_out": ["CIK"]})
    assert response.status == 200

"""Consents from the brand's own channels through the API (issue #28): recorded as İYS would
take them, refused (422, item and field named, İYS's code) before anything is stored or
sent, idempotent retries, the recipient's state and its refresh budget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from inbound.api import PREFIX, create_api
from iys_push import status_budget
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.timefmt import TR
from tests.api.conftest import ADMIN_TOKEN, World
from tests.iys_push.conftest import settings

URL = PREFIX + "/brands/acme/consents"


def now_tr(**delta: float) -> str:
    return (datetime.now(TR) + timedelta(**delta)).replace(microsecond=0).isoformat()


def consent(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"recipient": "0532 123 45 67", "type": "MESAJ", "status": "ONAY",
                            "source": "HS_CAGRI_MERKEZI", "consent_date": now_tr(minutes=-5)}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def post(world: World, body: Any, who: str = "a", key: str | None = None) -> Any:
    headers = world.auth(who)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await world.client.post(URL, json=body, headers=headers)


async def counts(world: World) -> tuple[int, int]:
    return (await world.pool.fetchval("SELECT count(*) FROM consent_event"),
            await world.pool.fetchval("SELECT count(*) FROM consent_submission"))


async def test_a_call_centre_onay_is_recorded_normalised_with_its_evidence(world: World) -> None:
    given = now_tr(minutes=-10)
    response = await post(world, consent(
        type=["MESAJ", "ARAMA"], consent_date=given,
        evidence={"call_id": "C-991", "agent": "ayse", "ip": "10.0.0.7"}))
    assert response.status == 202, await response.text()
    body = await response.json()
    [item] = body["consents"]
    assert item["recipient"] == "+905321234567" and item["source"] == "HS_CAGRI_MERKEZI"
    assert [e["type"] for e in item["events"]] == ["MESAJ", "ARAMA"]
    assert {e["state"] for e in item["events"]} == {"pending"}
    rows = await world.pool.fetch("SELECT * FROM consent_event ORDER BY id")
    given_at = datetime.fromisoformat(given)
    # ordered and dated by the moment the person gave it, not when it was typed in
    assert all(r["received_at"] == given_at == r["consent_date"] for r in rows)
    assert all(r["message_id"] is None and r["submission_id"] == item["submission_id"]
               for r in rows)
    history = await world.client.get(PREFIX + "/brands/acme/recipients/+905321234567",
                                     headers=world.auth("a"))
    assert history.status == 200
    evidence = (await history.json())["submissions"]
    assert evidence[0]["evidence"]["call_id"] == "C-991"
    assert evidence[0]["recipient_input"] == "0532 123 45 67" and evidence[0]["via"] == "api"
    listed = await world.client.get(PREFIX + "/brands/acme/events", headers=world.auth("a"))
    assert {e["source"] for e in (await listed.json())["items"]} == {"HS_CAGRI_MERKEZI"}


@pytest.mark.parametrize("written", ["05321234567", "5321234567", "+90 532 123 45 67",
                                     "905321234567", "+90 (532) 123-45-67", "00905321234567"])
async def test_every_common_form_of_a_turkish_number_becomes_e164(world: World,
                                                                  written: str) -> None:
    response = await post(world, consent(recipient=written))
    assert response.status == 202
    assert (await response.json())["consents"][0]["recipient"] == "+905321234567"


REFUSALS = [
    ({"recipient": "0212 123 45 67"}, "recipient", "H121"),          # MESAJ needs a mobile
    ({"recipient": "0532 123"}, "recipient", "H121"),
    ({"recipient": "+4915112345678"}, "recipient", "H121"),          # not Turkish
    ({"recipient": "ali@example.com"}, "recipient", "H121"),
    ({"type": "EPOSTA", "recipient": "örnek@mail.com"}, "recipient", "H120"),
    ({"type": "EPOSTA", "recipient": "+905321234567"}, "recipient", "H120"),
    ({"type": ["EPOSTA", "MESAJ"]}, "type", "H464"),
    ({"type": "FAX"}, "type", "H117"),
    ({"status": "RED"}, "status", "H115"),
    ({"source": "IYS_WEB"}, "source", "H119"),
    ({"source": "HS_KARAR", "status": "ONAY"}, "source", "H408"),
    ({"source": "HS_2015", "consent_date": "2015-05-01T00:00:00+03:00"}, "source", "H155"),
    ({"recipient_type": "KURUMSAL"}, "recipient_type", "H116"),
    ({"consent_date": None}, "consent_date", "H112"),
    ({"consent_date": "2015-04-30T23:59:59+03:00"}, "consent_date", "H156"),
    ({"consent_date": "2099-01-01T00:00:00+03:00"}, "consent_date", "H162"),
    ({"consent_date": "2020-01-06T10:00:00+03:00"}, "consent_date", "H467"),
    ({"consent_date": "2024-05-01 10:00:00"}, "consent_date", None),     # İYS's form, no zone
    ({"kanal": "web"}, "kanal", "H118"),
]


@pytest.mark.parametrize(("change", "field", "code"), REFUSALS)
async def test_each_refusal_names_the_item_and_field_and_stores_nothing(
        world: World, change: dict[str, Any], field: str, code: str | None) -> None:
    good = consent(recipient="0555 111 22 33")
    bad = {**consent(), **change}
    bad = {k: v for k, v in bad.items() if v is not None}
    response = await post(world, {"consents": [good, good, good, bad]})
    assert response.status == 422, await response.text()
    assert response.content_type == "application/problem+json"
    errors = (await response.json())["errors"]
    assert [e["field"] for e in errors] == [f"consents[3].{field}"], errors
    assert errors[0].get("code") == code
    assert await counts(world) == (0, 0)


async def test_older_than_three_business_days_says_until_when_it_could_have_gone(
        world: World) -> None:
    response = await post(world, consent(consent_date=now_tr(days=-8)))
    assert response.status == 422
    [error] = (await response.json())["errors"]
    assert error["field"] == "consent_date" and error["code"] == "H467"
    assert "three business days" in error["reason"]


async def test_hs_karar_is_refused_as_a_first_movement_and_taken_after_one(world: World) -> None:
    karar = consent(source="HS_KARAR", status="RET", consent_date=now_tr(minutes=-1))
    refused = await post(world, karar)
    assert refused.status == 409
    assert (await refused.json())["errors"][0]["field"] == "source"
    onay = consent(consent_date=now_tr(minutes=-3))
    both = await post(world, {"consents": [karar, onay]})   # the ONAY comes first by date
    assert both.status == 202
    assert (await post(world, karar)).status == 202        # known here now


async def test_tacir_needs_date_and_source_and_is_its_own_key(world: World) -> None:
    response = await post(world, consent(recipient_type="TACIR", source=None))
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "source"
    ok = await post(world, consent(recipient_type="TACIR"))
    assert ok.status == 202
    assert (await ok.json())["consents"][0]["recipient_type"] == "TACIR"


async def test_a_retry_with_the_same_key_returns_the_first_answer_and_another_body_409s(
        world: World) -> None:
    body = {"consents": [consent(), consent(recipient="0555 111 22 33", status="ONAY")]}
    first = await post(world, body, key="crm-batch-17")
    assert first.status == 202
    again = await post(world, body, key="crm-batch-17")
    assert again.status == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json()
    assert await counts(world) == (2, 2)
    other = await post(world, {"consents": [consent(status="RET")]}, key="crm-batch-17")
    assert other.status == 409
    assert (await other.json())["errors"][0]["field"] == "Idempotency-Key"
    # per owner: owner B may use the same key for its own brand
    response = await world.client.post(PREFIX + "/brands/kuzey/consents", json=consent(),
                                       headers={**world.auth("b"),
                                                "Idempotency-Key": "crm-batch-17"})
    assert response.status == 202
    assert await counts(world) == (3, 3)


async def test_concurrent_requests_with_one_key_record_once(world: World) -> None:
    body = consent()
    answers = await asyncio.gather(*(post(world, body, key="k-1") for _ in range(5)))
    assert [a.status for a in answers] == [202] * 5
    assert len({str(await a.json()) for a in answers}) == 1
    assert await counts(world) == (1, 1)


async def test_another_owners_brand_is_not_found(world: World) -> None:
    response = await world.client.post(PREFIX + "/brands/kuzey/consents", json=consent(),
                                       headers=world.auth("a"))
    assert response.status == 404
    assert await counts(world) == (0, 0)


async def test_a_thousand_consents_in_one_request_and_not_one_more(world: World) -> None:
    items = [consent(recipient=f"+90532{i:07d}") for i in range(1000)]
    response = await post(world, {"consents": items})
    assert response.status == 202
    assert len((await response.json())["consents"]) == 1000
    too_many = await post(world, {"consents": [*items, consent()]})
    assert too_many.status == 422
    assert (await too_many.json())["errors"][0]["code"] == "H091"


async def test_the_state_shows_the_view_the_pending_events_and_as_of(world: World) -> None:
    await world.pool.execute(
        "INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type, status, "
        "consent_date, source, origin) VALUES (700001, '+905321234567', 'BIREYSEL', 'MESAJ', "
        "'ONAY', now() - interval '1 day', 'HS_WEB', 'push')")
    await post(world, consent(status="RET", source="HS_WEB"))
    response = await world.client.get(URL, params={"recipient": "0532 123 45 67"},
                                      headers=world.auth("a"))
    assert response.status == 200
    body = await response.json()
    assert body["recipient"] == "+905321234567" and body["as_of"]
    mesaj = next(s for s in body["states"] if (s["recipient_type"], s["type"])
                 == ("BIREYSEL", "MESAJ"))
    assert mesaj["status"] == "ONAY" and mesaj["source"] == "HS_WEB"
    assert [p["status"] for p in mesaj["pending"]] == ["RET"]
    arama = next(s for s in body["states"] if s["type"] == "ARAMA")
    assert arama["status"] is None and arama["pending"] == []


@pytest.fixture
async def sandbox_world(world: World, aiohttp_client: Any) -> AsyncIterator[
        tuple[World, SandboxServer]]:
    from aiohttp import web

    async with SandboxServer(SandboxConfig()) as sb:
        app = web.Application()
        app.add_subapp(PREFIX, create_api(world.pool, admin_token=ADMIN_TOKEN,
                                          iys_settings=settings(sb)))
        world.client = await aiohttp_client(app)
        yield world, sb


async def test_refresh_asks_iys_and_the_budget_refuses_with_retry_after(
        sandbox_world: tuple[World, SandboxServer]) -> None:
    world, sb = sandbox_world
    await seed_consent(sb, brand_code=700001, recipient="+905321234567", status="ONAY")
    query = {"recipient": "+905321234567", "type": "MESAJ", "recipient_type": "BIREYSEL",
             "refresh": "true"}
    response = await world.client.get(URL, params=query, headers=world.auth("a"))
    assert response.status == 200
    [state] = (await response.json())["states"]
    assert state["status"] == "ONAY" and state["refresh"]["outcome"] == "ok"
    assert state["known_from"] == "status_date" and len(state["transaction_id"]) == 64
    asked = sb.state.requests_matching("/consents/status")
    assert asked == 1
    # the hour's budget (less the pusher's reserve) is used up by other processes
    account = settings(sb).account
    await world.pool.execute(
        "INSERT INTO iys_status_call (account, at) SELECT $1, now() - interval '30 minutes' "
        "FROM generate_series(1, $2)", account,
        status_budget.PER_HOUR - status_budget.RESERVE - 1)
    refused = await world.client.get(URL, params=query, headers=world.auth("a"))
    assert refused.status == 429
    assert 1700 <= int(refused.headers["Retry-After"]) <= 1801   # the oldest leave in 30 min
    assert sb.state.requests_matching("/consents/status") == asked   # nothing was asked
    # without refresh the local state still answers
    local = await world.client.get(URL, params={**query, "refresh": "false"},
                                   headers=world.auth("a"))
    assert local.status == 200
    # the pusher's own status queries are counted and never refused
    assert await status_budget.used(world.pool, account) == status_budget.PER_HOUR - \
        status_budget.RESERVE


async def test_a_refresh_with_no_iys_configured_answers_the_local_state(world: World) -> None:
    response = await world.client.get(URL, params={"recipient": "ali@Example.com",
                                                   "refresh": "true"},
                                      headers=world.auth("a"))
    assert response.status == 200
    body = await response.json()
    assert body["recipient"] == "ali@example.com"
    assert [(s["recipient_type"], s["type"]) for s in body["states"]] == [
        ("BIREYSEL", "EPOSTA"), ("TACIR", "EPOSTA")]
    assert {s["refresh"]["outcome"] for s in body["states"]} == {"error"}


async def test_a_recipient_that_is_neither_phone_nor_mail_is_named(world: World) -> None:
    response = await world.client.get(URL, params={"recipient": "hello"},
                                      headers=world.auth("a"))
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "recipient"


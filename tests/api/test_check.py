"""The pre-send check over the API (issue #29 item 3): every state of a key, invalid numbers,
freshness and strict, the streaming CSV form, live within its budget, another owner's brand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from inbound.api import PREFIX, create_api
from inbound.http import APP_STATE, ServiceState
from inbound.presend import CheckSettings
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer, seed_consent
from tests.api.conftest import ADMIN_TOKEN, World, add_message
from tests.iys_push.conftest import settings
from tests.near_miss import add_review

URL = PREFIX + "/brands/acme/check"
ACME = 700001
NOW = datetime.now(UTC)


async def key(pool: asyncpg.Pool, recipient: str, status: str, *, type_: str = "MESAJ",
              recipient_type: str = "BIREYSEL", at: datetime | None = None) -> None:
    """A row of the mirror, as the pusher, the puller or the push endpoint leave it."""
    await pool.execute(
        """INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type, status,
                                      consent_date, source, origin)
           VALUES ($1, $2, $3, $4, $5, $6, 'HS_WEB', 'pull')""",
        ACME, recipient, recipient_type, type_, status, at or NOW - timedelta(days=2))


async def mirror_status(pool: asyncpg.Pool, *, pulled_ago: float | None = None,
                        pushed_ago: float | None = None, push: bool = False) -> None:
    def ago(seconds: float | None) -> datetime | None:
        return None if seconds is None else datetime.now(UTC) - timedelta(seconds=seconds)
    await pool.execute(
        """INSERT INTO iys_mirror_status (brand_code, pulled_at, pushed_at, push_registered)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (brand_code) DO UPDATE SET pulled_at = $2, pushed_at = $3,
                                                  push_registered = $4""",
        ACME, ago(pulled_ago), ago(pushed_ago), push)


async def check(world: World, who: str = "a", **body: Any) -> Any:
    body.setdefault("type", "MESAJ")
    return await world.client.post(URL, json=body, headers=world.auth(who))


async def test_a_number_is_allowed_only_with_onay_and_nothing_newer_waiting_here(
        world: World) -> None:
    pool = world.pool
    await mirror_status(pool, pulled_ago=60)
    await key(pool, "+905320000001", "ONAY")                      # allowed
    await key(pool, "+905320000002", "RET")                       # İYS holds RET
    # +905320000003: nothing in the mirror
    await key(pool, "+905320000004", "ONAY")                      # a RET texted since
    await add_message(pool, sender="+905320000004", text="RET ACME", brand="acme",
                      state="pending", at=NOW - timedelta(hours=1), transaction_id=None)
    await key(pool, "+905320000005", "ONAY")                      # a near miss in review
    await add_review(pool, sender="+905320000005", received_at=NOW - timedelta(hours=1))
    # a pending RET older than the ONAY İYS holds (İYS would refuse it: H178)
    await key(pool, "+905320000006", "ONAY", at=NOW - timedelta(minutes=10))
    await add_message(pool, sender="+905320000006", text="RET ACME", brand="acme",
                      state="pending", at=NOW - timedelta(hours=1), transaction_id=None)
    await key(pool, "+905320000007", "ONAY", recipient_type="TACIR")   # other key
    await key(pool, "+905320000008", "ONAY", type_="ARAMA")            # other key
    numbers = ["0532 000 00 01", "+905320000002", "5320000003", "+90 532 000 00 04",
               "05320000005", "+905320000006", "+905320000007", "+905320000008",
               "+905320000001"]   # the first again: listed once
    response = await check(world, recipients=numbers)
    assert response.status == 200
    body = await response.json()
    assert body["allowed"] == ["+905320000001", "+905320000006"]
    assert {b["recipient"]: b["why"] for b in body["blocked"]} == {
        "+905320000002": "ret", "+905320000003": "no_record",
        "+905320000004": "ret_pending_here", "+905320000005": "review_pending_here",
        "+905320000007": "no_record", "+905320000008": "no_record"}
    assert body["counts"] == {"allowed": 2, "blocked": 6, "invalid": 0}
    assert body["freshness"]["verdict"] == "fresh" and body["as_of"] is not None
    tacir = await (await check(world, recipients=["+905320000007", "+905320000001"],
                               recipient_type="TACIR")).json()
    assert tacir["allowed"] == ["+905320000007"]
    assert tacir["blocked"] == [{"recipient": "+905320000001", "why": "no_record"}]
    arama = await (await check(world, type="ARAMA",
                               recipients=["+905320000008", "+905320000001"])).json()
    assert arama["allowed"] == ["+905320000008"]


async def test_a_review_blocks_the_number_whatever_the_key_and_a_pending_onay_allows_nothing(
        world: World) -> None:
    await mirror_status(world.pool, pulled_ago=60)
    await key(world.pool, "+905320000009", "ONAY", type_="ARAMA")
    await add_review(world.pool, sender="+905320000009", received_at=NOW - timedelta(hours=1))
    await add_message(world.pool, sender="+905320000010", text="IZIN ACME", brand="acme",
                      status="ONAY", state="pending", transaction_id=None)
    body = await (await check(world, type="ARAMA",
                              recipients=["+905320000009", "+905320000010"])).json()
    assert body["blocked"] == [{"recipient": "+905320000009", "why": "review_pending_here"},
                               {"recipient": "+905320000010", "why": "no_record"}]


async def test_invalid_numbers_are_listed_with_their_reason(world: World) -> None:
    await mirror_status(world.pool, pulled_ago=60)
    body = await (await check(world, recipients=[
        "12345", "   ", "0212 123 45 67", "kisi@ornek.com", "+9005321234567"])).json()
    assert body["invalid"] == [
        {"recipient": "12345", "reason": "not_a_mobile_number"},
        {"recipient": "   ", "reason": "empty"},
        {"recipient": "0212 123 45 67", "reason": "not_a_mobile_number"},   # a fixed line
        {"recipient": "kisi@ornek.com", "reason": "not_a_mobile_number"}]
    # the +9005… pitfall (IYS_API.md §2.1) is read as the number it means
    assert body["blocked"] == [{"recipient": "+905321234567", "why": "no_record"}]
    arama = await (await check(world, type="ARAMA", recipients=["0212 123 45 67"])).json()
    assert arama["invalid"] == [] and arama["blocked"][0]["recipient"] == "+902121234567"
    for bad in ({"recipients": []}, {"recipients": ["1"] * 10_001}, {"recipients": [1]},
                {"recipients": ["x" * 101]}, {"recipients": ["1"], "type": "FAKS"},
                {"recipients": ["1"], "strict": "yes"}, {"recipients": ["1"], "extra": 1}):
        response = await check(world, **bad)
        assert response.status == 422, bad


@pytest.mark.parametrize(("status_row", "fresh", "as_of_ago"), [
    (None, False, None),                                             # never fed
    ({"pulled_ago": 300}, True, 3900),                               # no push: pull − 1 h
    ({"pulled_ago": 1200}, False, 4800),                             # a pull 20 min ago
    ({"pulled_ago": 3000, "pushed_ago": 120, "push": True}, True, 120),
    ({"pulled_ago": 3000, "pushed_ago": 900, "push": True}, False, 900),
])
async def test_freshness_and_strict(world: World, status_row: dict[str, Any] | None,
                                    fresh: bool, as_of_ago: float | None) -> None:
    if status_row is not None:
        await mirror_status(world.pool, **status_row)
    await key(world.pool, "+905320000001", "ONAY")
    body = await (await check(world, recipients=["+905320000001"])).json()
    assert body["freshness"]["verdict"] == ("fresh" if fresh else "stale")
    assert body["allowed"] == ["+905320000001"]          # not strict: answered, said stale
    if as_of_ago is None:
        assert body["as_of"] is None
    else:
        age = (datetime.now(UTC) - datetime.fromisoformat(body["as_of"])).total_seconds()
        assert as_of_ago - 5 <= age <= as_of_ago + 30
    strict = await check(world, recipients=["+905320000001"], strict=True)
    assert strict.status == (200 if fresh else 409)
    if not fresh:
        assert strict.content_type == "application/problem+json"
        assert "stale" in (await strict.json())["detail"]
        csv = await world.client.post(URL + ".csv", params={"type": "MESAJ", "strict": "true"},
                                      data="+905320000001\n", headers={
                                          **world.auth("a"), "Content-Type": "text/csv"})
        assert csv.status == 409


async def test_another_owners_brand_is_not_found(world: World) -> None:
    await key(world.pool, "+905320000001", "ONAY")
    assert (await check(world, who="b", recipients=["+905320000001"])).status == 404
    csv = await world.client.post(URL + ".csv", params={"type": "MESAJ"}, data="1\n",
                                  headers={**world.auth("b"), "Content-Type": "text/csv"})
    assert csv.status == 404
    assert (await check(world, who="admin", recipients=["+905320000001"])).status == 200


async def test_the_csv_form_streams_every_line_in_order(world: World) -> None:
    await mirror_status(world.pool, pulled_ago=60)
    await key(world.pool, "+905320000001", "ONAY")
    await key(world.pool, "+905320000002", "RET")
    lines = ["telefon,ad"]        # a header and a second column
    expected = []
    for i in range(25_000):      # three chunks of the lookup
        if i % 1000 == 1:
            lines.append("0532 000 00 01,Ayşe")
            expected.append("+905320000001,allowed,")
        elif i % 1000 == 2:
            lines.append('"+90 532 000 00 02","Can, Bey"')
            expected.append("+905320000002,blocked,ret")
        elif i % 1000 == 3:
            lines.append("abc")
            expected.append("abc,invalid,not_a_mobile_number")
        else:
            lines.append(f"+90541{i:07d}")
            expected.append(f"+90541{i:07d},blocked,no_record")
    lines.append("")              # a blank line is skipped
    response = await world.client.post(
        URL + ".csv", params={"type": "MESAJ"}, data="\n".join(lines).encode(),
        headers={**world.auth("a"), "Content-Type": "text/csv"})
    assert response.status == 200
    assert response.headers["X-Mirror-Freshness"] == "fresh"
    text = await response.text()
    assert text.splitlines() == ["recipient,verdict,reason", *expected]
    wrong = await world.client.post(URL + ".csv", params={"type": "MESAJ"}, data="1\n",
                                    headers={**world.auth("a"),
                                             "Content-Type": "application/json"})
    assert wrong.status == 415
    long_line = await world.client.post(
        URL + ".csv", params={"type": "MESAJ"}, data=b"5" * 5000 + b"\n+905320000001",
        headers={**world.auth("a"), "Content-Type": "text/csv"})
    assert (await long_line.text()).splitlines()[1:] == [
        "5" * 1025 + ",invalid,too_long", "+905320000001,allowed,"]


@pytest.fixture
async def live_world(world: World, aiohttp_client: Any) -> AsyncIterator[
        tuple[World, SandboxServer]]:
    async with SandboxServer(SandboxConfig()) as sb:
        app = web.Application()
        app[APP_STATE] = ServiceState(pool=world.pool, check_settings=CheckSettings(
            live_requests_per_check=2, live_requests_per_hour=3))
        app.add_subapp(PREFIX, create_api(world.pool, admin_token=ADMIN_TOKEN,
                                          iys_settings=settings(sb)))
        world.client = await aiohttp_client(app)
        yield world, sb


async def test_live_asks_iys_only_about_unknown_numbers_within_the_budget(
        live_world: tuple[World, SandboxServer]) -> None:
    world, sb = live_world
    await mirror_status(world.pool, pulled_ago=60)
    await key(world.pool, "+905320000001", "ONAY")
    await key(world.pool, "+905320000002", "RET")
    unknown = [f"+90541{i:07d}" for i in range(2500)]
    for number in (unknown[5], unknown[1500]):            # ONAY in İYS, unknown here
        await seed_consent(sb, brand_code=ACME, recipient=number)
    await seed_consent(sb, brand_code=ACME, recipient=unknown[2200])   # beyond the budget
    await seed_consent(sb, brand_code=ACME, recipient="+905320000002")  # mirror says RET
    body = await (await check(world, recipients=["+905320000001", "+905320000002", *unknown],
                              live=True)).json()
    assert body["live"] == {"outcome": "budget", "requests": 2, "asked": 2000, "onay": 2,
                            "not_asked": 500, "detail": body["live"]["detail"]}
    assert body["allowed"] == ["+905320000001", unknown[5], unknown[1500]]
    why = {b["recipient"]: b["why"] for b in body["blocked"]}
    assert why["+905320000002"] == "ret" and why[unknown[2200]] == "no_record"
    asked = await world.pool.fetch(
        "SELECT request FROM iys_attempt WHERE path LIKE '%/status/MESAJ' ORDER BY id")
    sent = [r for row in asked for r in row["request"]["recipients"]]
    assert len(asked) == 2 and sent == unknown[:2000]       # never a number the mirror knew
    assert sb.state.requests_matching("/status/") == 2
    rows = await world.pool.fetch("SELECT recipient, status, origin, consent_date FROM "
                                  "iys_key_state WHERE origin = 'status' ORDER BY recipient")
    assert [(r["recipient"], r["status"], r["consent_date"]) for r in rows] == [
        (unknown[5], "ONAY", None), (unknown[1500], "ONAY", None)]
    # the hour allows 3 requests in all: one is left, then none
    again = await (await check(world, recipients=unknown[2000:], live=True)).json()
    assert again["live"]["requests"] == 1 and again["live"]["asked"] == 500
    assert unknown[2200] in again["allowed"]
    last = await (await check(world, recipients=["+905419999999"], live=True)).json()
    assert last["live"]["outcome"] == "budget" and last["live"]["requests"] == 0
    assert sb.state.requests_matching("/status/") == 3


async def test_live_without_iys_configured_answers_from_the_mirror(world: World) -> None:
    await mirror_status(world.pool, pulled_ago=60)
    body = await (await check(world, recipients=["+905410000001"], live=True)).json()
    assert body["live"]["outcome"] == "not_configured"
    assert body["blocked"] == [{"recipient": "+905410000001", "why": "no_record"}]

"""More of the İYS contract (IYS_API.md §1.3, §2, §3), over real HTTP with a frozen clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.timefmt import format_iys
from tests.iys_sandbox.helpers import (
    BASE,
    PHONE,
    WEDNESDAY_NOON,
    access,
    call,
    codes,
    consent,
)

NOW = WEDNESDAY_NOON
OTHER = "+905321234560"


@pytest.fixture
async def sb() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(requests_per_second=0,
                                           batch_result_delay=300)) as server:
        server.clock.set(NOW)
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def t(sb: SandboxServer, http: aiohttp.ClientSession) -> str:
    return await access(http, sb)


def at(minutes_ago: float, status: str = "ONAY", **extra: object) -> dict[str, object]:
    return consent(status, NOW - timedelta(minutes=minutes_ago), **extra)


@pytest.mark.parametrize(("grant", "description"), [
    ("client_credentials", "Desteklenmeyen giriş yöntemi."),
    ("magic", "Bilinmeyen giriş yöntemi."),
    ("", "Giriş yöntemi boş olamaz."),
])
async def test_oauth_grant_errors(sb: SandboxServer, http: aiohttp.ClientSession, grant: str,
                                  description: str) -> None:
    status, body = await call(http, sb, "POST", "/oauth2/token", {"grant_type": grant})
    assert status == 400 and body == {"error": "invalid_request",
                                      "error_description": description}


async def test_h084_body_has_both_the_flat_and_the_envelope_shape(
    http: aiohttp.ClientSession,
) -> None:
    async with SandboxServer(SandboxConfig(token_calls_per_hour=1)) as sb:
        await access(http, sb)
        status, body = await call(http, sb, "POST", "/oauth2/token", {"grant_type": "password"})
        assert status == 429 and body["code"] == "H084" and codes(body) == ["H084"]


async def test_same_key_within_one_second_shares_a_transaction_id(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    _, first = await call(http, sb, "POST", BASE, at(5), t)
    _, second = await call(http, sb, "POST", BASE, at(4), t)      # ONAY again, newer: allowed
    _, other = await call(http, sb, "POST", BASE, at(4, recipient=OTHER), t)
    assert first["transactionId"] == second["transactionId"] != other["transactionId"]
    assert first["creationDate"] == format_iys(NOW)
    assert sb.state.accepted_count(700001, PHONE) == 2


async def test_tacir_first_add_may_omit_source_and_date_but_updates_may_not(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    bare = {"recipient": PHONE, "recipientType": "TACIR", "type": "MESAJ", "status": "ONAY"}
    assert (await call(http, sb, "POST", BASE, bare, t))[0] == 200
    status, body = await call(http, sb, "POST", BASE, {**bare, "status": "RET"}, t)
    assert status == 400 and codes(body) == ["H462"]
    status, body = await call(http, sb, "POST", BASE,
                              {**bare, "status": "RET",
                               "consentDate": format_iys(NOW - timedelta(minutes=1))}, t)
    assert status == 400 and codes(body) == ["H463"]
    status, body = await call(http, sb, "POST", BASE, {**bare, "source": ""}, t)
    assert status == 422 and codes(body) == ["H267"]
    # the BIREYSEL record of the same number is a different key
    status, body = await call(http, sb, "POST", BASE, at(1, "RET"), t)
    assert status == 400 and codes(body) == ["H175"]


@pytest.mark.parametrize(("change", "expected"), [
    ({"source": "HS_KARAR"}, ["H408"]),
    ({"source": ["HS_WEB"]}, ["H119"]),
    ({"recipient": 905321234567}, ["H122"]),
    ({"recipient": "+9053212345678901"}, ["H160"]),
    ({"recipient": "a@b.com"}, ["H464"]),
    ({"type": "EPOSTA"}, ["H459"]),
    ({"type": "EPOSTA", "recipient": "örnek@mail.com"}, ["H120"]),
    ({"retailerCode": None, "retailerAccess": []}, ["H267", "H163"]),
    ({"retailerAccess": list(range(3001))}, ["H126"]),
    ({"source": "HS_2015"}, ["H155"]),
    ({"status": None, "type": None, "consentDate": None}, ["H110", "H111", "H112"]),
])
async def test_field_rules(sb: SandboxServer, http: aiohttp.ClientSession, t: str,
                           change: dict[str, object], expected: list[str]) -> None:
    status, body = await call(http, sb, "POST", BASE, {**at(1), **change}, t)
    assert status == 422 and sorted(codes(body)) == sorted(expected)
    assert all("location" in e and "value" in e for e in body["errors"])
    assert sb.state.movements == []


async def test_emails_are_stored_and_matched_lower_cased(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    mail = {"type": "EPOSTA", "recipient": "Ali.Veli+kampanya@Example.com", "source": "HS_WEB"}
    assert (await call(http, sb, "POST", BASE, at(2, **mail), t))[0] == 200
    status, body = await call(http, sb, "POST", BASE + "/status",
                              {"recipient": "ali.veli+KAMPANYA@example.com",
                               "recipientType": "BIREYSEL", "type": "EPOSTA"}, t)
    assert status == 200 and body["recipient"] == "ali.veli+kampanya@example.com"
    assert body["status"] == "ONAY" and body["consentDate"] == format_iys(
        NOW - timedelta(minutes=2))
    status, body = await call(http, sb, "POST", BASE, at(1, "RET", **{
        **mail, "recipient": "ALI.VELI+KAMPANYA@EXAMPLE.COM"}), t)
    assert status == 200  # same key: RET over ONAY


async def test_single_status_validates_and_answers_404_without_a_consent(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    status, body = await call(http, sb, "POST", BASE + "/status",
                              {"recipient": PHONE, "recipientType": "BIREYSEL", "type": "MESAJ"}, t)
    assert status == 404 and codes(body) == ["H093"]
    status, body = await call(http, sb, "POST", BASE + "/status",
                              {"recipient": "+9053212345678901", "type": "MESAJ"}, t)
    assert status == 422 and sorted(codes(body)) == ["H166", "H170"]
    status, body = await call(http, sb, "POST", BASE + "/status",
                              {"recipient": PHONE, "recipientType": "BIREYSEL", "type": "FAX"}, t)
    assert status == 422 and codes(body) == ["H117"]


async def test_batch_items_get_their_creation_date_when_processed_in_list_order(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    await seed_consent(sb, brand_code=700001, recipient=OTHER)
    items = [at(3, "RET", recipient=OTHER), at(3, "RET"), at(3, recipient="+905321234561")]
    status, accepted = await call(http, sb, "POST", BASE + "/request", items, t)
    assert status == 202 and [s["recipient"] for s in accepted["subRequests"]] == [
        OTHER, PHONE, "+905321234561"]
    path = f"{BASE}/request/{accepted['requestId']}"
    sb.clock.advance(299)
    _, pending = await call(http, sb, "GET", path, token=t)
    assert {r["status"] for r in pending} == {"enqueue"} and sb.state.accepted_count(
        700001, "+905321234561") == 0
    sb.clock.advance(3600)
    # any request after the due time processes it first: the state already shows the batch
    status, body = await call(http, sb, "POST", BASE + "/BIREYSEL/status/MESAJ",
                              {"recipients": [OTHER, PHONE, "+905321234561"]}, t)
    assert body["list"] == ["+905321234561"]
    _, result = await call(http, sb, "GET", path, token=t)
    assert [(r["index"], r["status"]) for r in result] == [
        (0, "success"), (1, "failure"), (2, "success")]
    assert result[1]["error"]["code"] == "H175"
    assert result[0]["creationDate"] == format_iys(NOW + timedelta(seconds=300))


async def test_batch_limits_and_other_brands_request_ids(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    status, body = await call(http, sb, "POST", BASE + "/request",
                              [at(1, recipient=f"+90532{i:07d}") for i in range(1001)], t)
    assert status == 422 and codes(body) == ["H091"]
    status, body = await call(http, sb, "POST", BASE + "/request", {"not": "a list"}, t)
    assert status == 400 and codes(body) == ["H092"]
    status, body = await call(http, sb, "POST", BASE + "/request", [at(1), at(1, "RED")], t)
    assert status == 422 and [(e["code"], e["index"]) for e in body["errors"]] == [("H115", 1)]
    _, accepted = await call(http, sb, "POST", BASE + "/request", [at(1)], t)
    status, body = await call(
        http, sb, "GET", f"/sps/700001/brands/700002/consents/request/{accepted['requestId']}",
        token=t)
    assert status == 200 and body == []


async def test_v2_batch_resend_points_to_the_original_request(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    sb.state.config.batch_result_delay = 0
    _, first = await call(http, sb, "POST", "/v2" + BASE + "/request", [at(1)], t)
    _, again = await call(http, sb, "POST", "/v2" + BASE + "/request", [at(1)], t)
    assert first["requestId"] != again["requestId"]
    _, result = await call(http, sb, "GET", f"/v2{BASE}/request/{again['requestId']}", token=t)
    assert result[0]["status"] == "success" and result[0]["isAddConsentV2Service"] is True
    assert result[0]["originalRequestInformation"] == {
        "requestId": first["requestId"], "subRequestId": first["subRequests"][0]["subRequestId"]}
    assert sb.state.accepted_count(700001, PHONE) == 1


async def test_empty_pending_style(http: aiohttp.ClientSession) -> None:
    async with SandboxServer(SandboxConfig(batch_pending="empty")) as sb:
        t = await access(http, sb)
        _, accepted = await call(http, sb, "POST", BASE + "/request", [consent()], t)
        status, body = await call(http, sb, "GET", f"{BASE}/request/{accepted['requestId']}",
                                  token=t)
        assert status == 200 and body == []


async def test_batch_status_rules(sb: SandboxServer, http: aiohttp.ClientSession,
                                  t: str) -> None:
    status, body = await call(http, sb, "POST", BASE + "/BIREYSEL/status/MESAJ",
                              {"recipients": [PHONE, "a@b.com", PHONE]}, t)
    assert status == 422
    assert [(e["code"], e["location"]) for e in body["errors"]] == [
        ("H464", ["recipients", 1]), ("H193", ["recipients", 2])]
    for payload, code in (({}, "H168"), ({"recipients": PHONE}, "H478"),
                          ({"recipients": [f"+90532{i:07d}" for i in range(1001)]}, "H127")):
        status, body = await call(http, sb, "POST", BASE + "/BIREYSEL/status/MESAJ", payload, t)
        assert status == 422 and codes(body) == [code]
    status, body = await call(http, sb, "POST", BASE + "/KURUM/status/MESAJ",
                              {"recipients": [PHONE]}, t)
    assert status == 422 and codes(body) == ["H116"]


async def citizen(http: aiohttp.ClientSession, sb: SandboxServer, recipient: str,
                  status: str = "RET") -> None:
    answer = await call(http, sb, "POST", "/_sandbox/citizen-change",
                        {"brandCode": 700001, "recipient": recipient, "status": status,
                         "source": "IYS_MOBIL"})
    assert answer[0] == 200


async def test_changes_feed_pages_by_cursor_within_the_window(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    await citizen(http, sb, "+905321234501")
    sb.clock.advance(8 * 24 * 3600)                              # that one ages out
    t = await access(http, sb)                                   # the old token expired
    for i in range(2, 5):
        await citizen(http, sb, f"+90532123450{i}")
        sb.clock.advance(1)
    await call(http, sb, "POST", BASE, consent(when=sb.clock.now()), t)  # an HS movement
    sb.clock.advance(3600)
    seen, after = [], ""
    for _ in range(5):
        status, body = await call(http, sb, "GET", f"{BASE}/changes?limit=2{after}", token=t)
        if status == 204:
            break
        seen += [i["recipient"] for i in body["list"]]
        after = f"&after={body['after']}"
    assert seen == ["+905321234502", "+905321234503", "+905321234504"]
    status, body = await call(http, sb, "GET", f"{BASE}/changes?source=HS", token=t)
    assert status == 200 and [i["source"] for i in body["list"]] == ["HS_MESAJ"]
    status, body = await call(http, sb, "GET", f"{BASE}/changes?limit=1001", token=t)
    assert status == 422 and codes(body) == ["H507"]


async def test_feed_never_splits_movements_sharing_a_cursor(
    sb: SandboxServer, http: aiohttp.ClientSession, t: str
) -> None:
    await citizen(http, sb, PHONE, "ONAY")
    await citizen(http, sb, PHONE, "RET")   # same key, same second: same transactionId
    await citizen(http, sb, OTHER)
    sb.clock.advance(3601)
    status, body = await call(http, sb, "GET", f"{BASE}/changes?limit=2", token=t)
    assert [i["status"] for i in body["list"]] in (["ONAY", "RET"], ["RET"])
    _, rest = await call(http, sb, "GET", f"{BASE}/changes?after={body['after']}", token=t)
    statuses = [i["status"] for i in body["list"] + rest["list"]]
    assert len(statuses) == 3 and statuses.count("RET") == 2


async def test_clock_admin_hooks(sb: SandboxServer, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, sb, "POST", "/_sandbox/clock", {"advance": 60})
    assert status == 200 and body["frozen"] and sb.clock.now() == NOW + timedelta(minutes=1)
    await call(http, sb, "POST", "/_sandbox/clock", {"at": "2027-01-04 09:00:00"})
    assert not sb.clock.frozen
    assert abs((sb.clock.now() - NOW.replace(year=2027, month=1, day=4, hour=9))
               .total_seconds()) < 5
    await call(http, sb, "POST", "/_sandbox/clock", {"offset": 0, "freeze": True})
    assert sb.clock.frozen is not None
    assert (await call(http, sb, "POST", "/_sandbox/clock", {"at": "yesterday"}))[0] == 400


async def test_reset_forgets_consents_and_tokens(sb: SandboxServer,
                                                 http: aiohttp.ClientSession, t: str) -> None:
    await call(http, sb, "POST", BASE, consent(when=sb.clock.now()), t)
    assert (await call(http, sb, "POST", "/_sandbox/reset"))[0] == 200
    assert sb.state.movements == []
    assert (await call(http, sb, "GET", BASE + "/changes", token=t))[0] == 401

"""The İYS sandbox keeps the contract of IYS_API.md §9, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import pytest

from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.timefmt import TR
from tests.iys_sandbox.helpers import BASE, PHONE, call, codes, consent, token


@pytest.fixture
async def sb() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(batch_result_delay=300, token_calls_per_hour=3,
                                           requests_per_second=10)) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_password_grant_and_rotating_refresh(sb: SandboxServer,
                                                   http: aiohttp.ClientSession) -> None:
    first = await token(http, sb)
    assert first["expires_in"] == 7200 and first["refresh_expires_in"] == 14400
    status, second = await call(http, sb, "POST", "/oauth2/token",
                                {"grant_type": "refresh_token",
                                 "refresh_token": first["refresh_token"]})
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    status, body = await call(http, sb, "POST", "/oauth2/token",
                              {"grant_type": "refresh_token",
                               "refresh_token": first["refresh_token"]})
    assert status == 400 and body["error"] == "invalid_grant"  # the old one is spent


async def test_form_body_and_oauth_errors(sb: SandboxServer,
                                          http: aiohttp.ClientSession) -> None:
    async with http.post(sb.url + "/oauth2/token",
                         data={"grant_type": "password", "username": "sandbox",
                               "password": "nope"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error_description"] == "Kullanıcı kimlik bilgileri geçersiz."


async def test_hourly_token_limit_and_penalty_restart(sb: SandboxServer,
                                                      http: aiohttp.ClientSession) -> None:
    for _ in range(3):
        await token(http, sb)
    status, body = await call(http, sb, "POST", "/oauth2/token",
                              {"grant_type": "password", "username": "sandbox",
                               "password": "sandbox"})
    assert status == 429 and codes(body) == ["H084"]
    sb.clock.advance(50 * 60)
    status, _ = await call(http, sb, "POST", "/oauth2/token", {"grant_type": "password"})
    assert status == 429  # a call inside the penalty hour restarts it
    sb.clock.advance(50 * 60)
    status, _ = await call(http, sb, "POST", "/oauth2/token", {"grant_type": "password"})
    assert status == 429
    sb.clock.advance(61 * 60)
    assert (await token(http, sb))["access_token"]


async def test_bearer_and_scope(sb: SandboxServer, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, sb, "POST", BASE, consent())
    assert status == 401 and codes(body) == ["H351"]
    t = (await token(http, sb))["access_token"]
    status, body = await call(http, sb, "POST", "/sps/700001/brands/999/consents", consent(),
                              t)
    assert status == 403 and codes(body) == ["H353"]
    status, body = await call(http, sb, "POST", "/sps/abc/brands/700001/consents", consent(), t)
    assert status == 422 and codes(body) == ["H190"]
    sb.clock.advance(7201)
    status, _ = await call(http, sb, "POST", BASE, consent(), t)
    assert status == 401  # expired


async def test_validation_errors_are_aggregated(sb: SandboxServer,
                                                http: aiohttp.ClientSession) -> None:
    t = (await token(http, sb))["access_token"]
    body = {"consentDate": "2020-15-01 13:35:00", "source": "HS_UYDURMA",
            "recipient": "0532123", "status": "RED", "type": "MESAJ", "retailerCode": "",
            "extra": 1}
    status, answer = await call(http, sb, "POST", BASE, body, t)
    assert status == 422
    assert {"H157", "H119", "H121", "H115", "H118", "H267"} <= set(codes(answer))
    assert all("location" in e and "value" in e for e in answer["errors"])


@pytest.mark.parametrize(("date", "code"), [
    ("2015-04-30 23:59:59", "H156"), ("2030-01-01 00:00:00", "H162"),
    ("2026/11/23 10:00:00", "H158")])
async def test_date_rules(sb: SandboxServer, http: aiohttp.ClientSession, date: str,
                          code: str) -> None:
    t = (await token(http, sb))["access_token"]
    status, body = await call(http, sb, "POST", BASE, {**consent(), "consentDate": date}, t)
    assert status == 422 and codes(body) == [code]


async def test_three_business_days_across_a_weekend(sb: SandboxServer,
                                                    http: aiohttp.ClientSession) -> None:
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=TR)
    sb.clock.set(datetime(2026, 12, 2, 23, 0, tzinfo=TR))   # Wednesday: still inside
    t = (await token(http, sb))["access_token"]
    status, _ = await call(http, sb, "POST", BASE, consent(when=friday), t)
    assert status == 200
    sb.clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=TR))    # Thursday: too late
    t = (await token(http, sb))["access_token"]
    status, body = await call(http, sb, "POST", BASE,
                              consent("RET", when=friday + timedelta(seconds=1)), t)
    assert status == 422 and codes(body) == ["H467"]


async def test_state_machine(sb: SandboxServer, http: aiohttp.ClientSession) -> None:
    t = (await token(http, sb))["access_token"]
    now = datetime.now(TR)
    status, body = await call(http, sb, "POST", BASE, consent("RET", now - timedelta(minutes=9)),
                              t)
    assert status == 400 and codes(body) == ["H175"]           # first cannot be RET
    assert (await call(http, sb, "POST", BASE, consent("ONAY", now - timedelta(minutes=8)),
                       t))[0] == 200
    assert (await call(http, sb, "POST", BASE, consent("ONAY", now - timedelta(minutes=7)),
                       t))[0] == 200                           # ONAY over ONAY, newer: fine
    status, body = await call(http, sb, "POST", BASE, consent("RET", now - timedelta(minutes=8)),
                              t)
    assert status == 400 and codes(body) == ["H178"]           # older date
    assert (await call(http, sb, "POST", BASE, consent("RET", now - timedelta(minutes=6)),
                       t))[0] == 200
    status, body = await call(http, sb, "POST", BASE, consent("RET", now - timedelta(minutes=5)),
                              t)
    assert status == 400 and codes(body) == ["H174"]           # RET over RET


async def test_v2_identical_resend_returns_the_same_transaction(
    sb: SandboxServer, http: aiohttp.ClientSession
) -> None:
    t = (await token(http, sb))["access_token"]
    body = consent()
    first = await call(http, sb, "POST", "/v2" + BASE, body, t)
    again = await call(http, sb, "POST", "/v2" + BASE, body, t)
    assert first == again and first[0] == 200 and len(first[1]["transactionId"]) == 64
    assert len(sb.state.movements) == 1


async def test_batch_is_enqueued_then_processed_after_the_delay(
    sb: SandboxServer, http: aiohttp.ClientSession
) -> None:
    t = (await token(http, sb))["access_token"]
    items = [consent("ONAY", recipient="+905321234560"), consent("RET", recipient=PHONE)]
    status, body = await call(http, sb, "POST", BASE + "/request", items, t)
    assert status == 202 and len(body["subRequests"]) == 2
    path = f"{BASE}/request/{body['requestId']}"
    status, result = await call(http, sb, "GET", path, token=t)
    assert [r["status"] for r in result] == ["enqueue", "enqueue"]
    sb.clock.advance(301)
    status, result = await call(http, sb, "GET", path, token=t)
    assert [r["status"] for r in result] == ["success", "failure"]
    assert result[1]["error"]["code"] == "H175" and result[1]["index"] == 1


async def test_batch_rejects_duplicate_keys_and_bad_request_ids(
    sb: SandboxServer, http: aiohttp.ClientSession
) -> None:
    t = (await token(http, sb))["access_token"]
    status, body = await call(http, sb, "POST", BASE + "/request", [consent(), consent()], t)
    assert status == 422 and body["errors"][0]["code"] == "H194"
    assert body["errors"][0]["index"] == 1
    for bad, code in (("a" * 37, "H198"), ("abcde", "H199"), ("12345", "H400")):
        status, body = await call(http, sb, "GET", f"{BASE}/request/{bad}", token=t)
        assert status == 422 and codes(body) == [code]


async def test_batch_status_lists_only_onay(sb: SandboxServer,
                                            http: aiohttp.ClientSession) -> None:
    t = (await token(http, sb))["access_token"]
    await seed_consent(sb, brand_code=700001, recipient=PHONE, status="ONAY")
    await seed_consent(sb, brand_code=700001, recipient="+905321234560", status="ONAY")
    sb.state.current[(700001, "+905321234560", "BIREYSEL", "MESAJ")].status = "RET"
    status, body = await call(http, sb, "POST", BASE + "/BIREYSEL/status/MESAJ",
                              {"recipients": [PHONE, "+905321234560", "+905321234561"]}, t)
    assert status == 200 and body["list"] == [PHONE]
    status, body = await call(http, sb, "POST", BASE + "/BIREYSEL/status/MESAJ",
                              {"recipients": []}, t)
    assert status == 422 and codes(body) == ["H164"]


async def test_changes_feed_with_cursor_and_204(sb: SandboxServer,
                                                http: aiohttp.ClientSession) -> None:
    t = (await token(http, sb))["access_token"]
    status, _ = await call(http, sb, "GET", BASE + "/changes", token=t)
    assert status == 204
    await call(http, sb, "POST", "/_sandbox/citizen-change",
               {"brandCode": 700001, "recipient": PHONE, "status": "RET",
                "source": "IYS_KISAMESAJ"})
    status, _ = await call(http, sb, "GET", BASE + "/changes", token=t)
    assert status == 204  # the last hour is not in the feed
    sb.clock.advance(3700)
    status, body = await call(http, sb, "GET", BASE + "/changes?source=IYS", token=t)
    assert status == 200 and [i["source"] for i in body["list"]] == ["IYS_KISAMESAJ"]
    status, _ = await call(http, sb, "GET", f"{BASE}/changes?after={body['after']}", token=t)
    assert status == 204
    status, body = await call(http, sb, "GET", BASE + "/changes?source=X", token=t)
    assert status == 422 and codes(body) == ["H506"]


async def test_more_than_ten_requests_in_a_second_get_h124(
    sb: SandboxServer, http: aiohttp.ClientSession
) -> None:
    t = (await token(http, sb))["access_token"]
    statuses = [(await call(http, sb, "POST", BASE + "/status",
                            {"recipient": PHONE, "recipientType": "BIREYSEL", "type": "MESAJ"},
                            t))[0] for _ in range(12)]
    assert 429 in statuses


@pytest.mark.parametrize(("code", "http_status"), [("H103", 500), ("H470", 500),
                                                   ("H192", 503), ("H123", 400)])
async def test_fault_knobs(sb: SandboxServer, http: aiohttp.ClientSession, code: str,
                           http_status: int) -> None:
    t = (await token(http, sb))["access_token"]
    status, _ = await call(http, sb, "POST", "/_sandbox/faults", {"next_errors": [code]})
    assert status == 200
    status, body = await call(http, sb, "POST", BASE, consent(), t)
    assert status == http_status and codes(body) == [code]
    assert (await call(http, sb, "POST", BASE, consent(), t))[0] == 200


async def test_outage_window(sb: SandboxServer, http: aiohttp.ClientSession) -> None:
    t = (await token(http, sb))["access_token"]
    now = sb.clock.now()
    sb.faults.outage_from, sb.faults.outage_until = now, now + timedelta(hours=1)
    assert (await call(http, sb, "POST", BASE, consent(), t))[0] == 503
    sb.clock.advance(3601)
    status, _ = await call(http, sb, "GET", "/_sandbox/state")
    assert status == 200

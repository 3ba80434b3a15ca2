"""İYS's push registration: POST /iys/push/{brand} stores each movement once, before it
answers, and a RET İYS pushed settles our next RET of the key without a request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from inbound.iys_inbox import setup_iys_inbox
from iys_push import mirror_client
from iys_push.client import IysClient
from iys_push.mirror_settings import MirrorSettings
from iys_push.pusher import Pusher
from iys_push.sandbox.push import basic
from iys_push.sandbox.testing import SandboxServer, seed_consent
from tests.iys_push.conftest import ALICE, BOB, add_event, drain, settings

AUTH = basic("iys", "push-secret")


async def _serve(pool: asyncpg.Pool, mirror_settings: MirrorSettings
                 ) -> AsyncIterator[str]:
    app = web.Application()
    setup_iys_inbox(app, pool, mirror_settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def endpoint(db: asyncpg.Pool) -> AsyncIterator[str]:
    async for url in _serve(db, MirrorSettings(push_username="iys",
                                               push_password="push-secret")):
        yield url


def _item(recipient: str, status: str, tx: str, when: str = "2026-12-01 10:00:00",
          **extra: object) -> dict[str, object]:
    return {"iysCode": 700001, "brandCode": 700001, "consentDate": when, "creationDate": when,
            "source": "IYS_KISAMESAJ", "recipient": recipient, "recipientType": "BIREYSEL",
            "status": status, "type": "MESAJ", "transactionId": tx, **extra}


async def _post(url: str, body: object, auth: str | None = AUTH,
                raw: bytes | None = None) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.post(
            url + "/iys/push/acme", json=None if raw is not None else body, data=raw,
            headers={"Authorization": auth} if auth is not None else {}) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_a_ret_pushed_by_iys_settles_the_next_sms_ret_without_a_request(
        sandbox: SandboxServer, db: asyncpg.Pool, endpoint: str) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    client = IysClient(db, settings(sandbox))
    answer = await mirror_client.push_register(client, 700001, 700001, [
        {"url": endpoint + "/iys/push/acme", "type": "MESAJ", "username": "iys",
         "password": "push-secret"}])
    await client.close()
    assert answer.status == 200, answer.body
    # İYS's test payload was acknowledged, not stored as a movement
    assert await db.fetchval("SELECT outcome FROM iys_push_inbox") == "test"
    assert await db.fetchval("SELECT count(*) FROM iys_change") == 0
    # the citizen's RET through 3338: İYS pushes it before the admin call returns
    async with aiohttp.ClientSession() as http, http.post(
            sandbox.url + "/_sandbox/citizen-change",
            json={"brandCode": 700001, "recipient": ALICE, "status": "RET"}) as resp:
        assert (await resp.json())["pushed"] == [200]
    view = await db.fetchrow("SELECT status, origin, transaction_id FROM iys_key_state")
    assert (view["status"], view["origin"]) == ("RET", "iys_push")
    assert view["transaction_id"] == sandbox.state.movements[-1].transaction_id
    assert await db.fetchval("SELECT pushed_at FROM iys_mirror_status") is not None
    before = sum(sandbox.state.requests.values())
    await add_event(db, ALICE, "RET", received_at=datetime.now(UTC))
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    row = await db.fetchrow("SELECT state, last_error_code FROM consent_event")
    assert (row["state"], row["last_error_code"]) == ("not_needed", "IYS_RET")
    assert sum(sandbox.state.requests.values()) == before   # no status query, no add


async def test_basic_auth_is_refused_without_or_with_wrong_credentials(
        db: asyncpg.Pool, endpoint: str) -> None:
    body = {"list": [_item(BOB, "RET", "tx1")]}
    assert (await _post(endpoint, body, auth=None))[0] == 401
    assert (await _post(endpoint, body, auth=basic("iys", "wrong")))[0] == 401
    assert (await _post(endpoint, body, auth=basic("other", "push-secret")))[0] \
        == 401
    assert await db.fetchval("SELECT count(*) FROM iys_change") == 0
    status, answer = await _post(endpoint, body)
    assert (status, answer["new"]) == (200, 1)


async def test_without_configured_credentials_every_request_is_refused(
        db: asyncpg.Pool) -> None:
    async for url in _serve(db, MirrorSettings()):
        for auth in (None, basic("", ""), AUTH):
            status, _ = await _post(url, {"list": [_item(BOB, "RET", "tx1")]}, auth=auth)
            assert status == 401
    assert await db.fetchval("SELECT count(*) FROM iys_change") == 0


async def test_a_burst_of_repeats_stores_every_movement_once(db: asyncpg.Pool,
                                                             endpoint: str) -> None:
    items = [_item(f"+90555000{i:04d}", "RET", f"tx{i}") for i in range(40)]
    bodies = [{"list": items[i % 4 * 10:(i % 4 + 1) * 10] + items[:5]} for i in range(24)]
    answers = await asyncio.gather(*(_post(endpoint, b) for b in bodies))
    assert {status for status, _ in answers} == {200}
    assert sum(a["new"] for _, a in answers) == 40          # each one new exactly once
    assert await db.fetchval("SELECT count(*) FROM iys_change WHERE channel = 'iys_push'") == 40
    assert await db.fetchval("SELECT count(*) FROM iys_key_state WHERE origin = 'iys_push'") \
        == 40
    assert await db.fetchval("SELECT count(*) FROM iys_push_inbox WHERE outcome = 'stored'") \
        == 24


async def test_bad_bodies_are_400_and_stored_never_a_5xx(db: asyncpg.Pool,
                                                         endpoint: str) -> None:
    for raw in (b"", b"not json", b"[1,2]", b'{"list": 3}', b"\x00\xff{"):
        status, answer = await _post(endpoint, None, raw=raw)
        assert status == 400 and answer["status"] == 400
    status, answer = await _post(endpoint, {"list": [
        _item(BOB, "RET", "tx-good"), _item(BOB, "MAYBE", "tx-bad"),
        _item(ALICE, "RET", "tx-other-brand", brandCode=999)]})
    assert status == 400
    assert [e["field"] for e in answer["errors"]] == ["list[1]", "list[2]"]
    # the good movement of a partly bad body is stored all the same
    assert await db.fetchval("SELECT transaction_id FROM iys_change") == "tx-good"
    assert await db.fetchval("SELECT count(*) FROM iys_push_inbox WHERE outcome = 'invalid'") \
        == 6


async def test_an_older_pushed_movement_does_not_overwrite_a_newer_one(
        db: asyncpg.Pool, endpoint: str) -> None:
    await _post(endpoint, {"list": [_item(BOB, "ONAY", "tx-new", "2026-12-01 12:00:00")]})
    await _post(endpoint, {"list": [_item(BOB, "RET", "tx-old", "2026-12-01 11:00:00")]})
    row = await db.fetchrow("SELECT status, transaction_id FROM iys_key_state")
    assert (row["status"], row["transaction_id"]) == ("ONAY", "tx-new")
    assert await db.fetchval("SELECT count(*) FROM iys_change") == 2   # both kept as evidence


def test_only_a_fresh_iys_side_ret_settles_a_ret_without_a_request() -> None:
    from datetime import timedelta

    from iys_push.events import ClaimedEvent
    from iys_push.retry import View, known_ret

    now = datetime.now(UTC)
    event = ClaimedEvent(id=1, brand_id="acme", brand_code=700001, recipient=ALICE,
                         recipient_type="BIREYSEL", type="MESAJ", status="RET",
                         source="HS_MESAJ", received_at=now, consent_date=now,
                         deadline_at=now + timedelta(days=3), attempts=0)
    fresh = now - timedelta(minutes=5)
    verdict = known_ret(event, View("RET", fresh, "iys_push"))
    assert verdict is not None and (verdict.state, verdict.code) == ("not_needed", "IYS_RET")
    assert known_ret(event, View("RET", now - timedelta(hours=2), "iys_push")) is None
    assert known_ret(event, View("RET", fresh, "push")) is None        # ours: the usual rules
    assert known_ret(event, View("ONAY", fresh, "iys_push")) is None
    assert known_ret(event, View("RET", now + timedelta(minutes=1), "pull")) is None  # newer


def test_the_push_endpoint_takes_bursts_of_twice_its_rate_then_refuses() -> None:
    from inbound.iys_inbox import Inbox

    now = [0.0]
    inbox = Inbox(None, MirrorSettings(push_requests_per_second=5),  # type: ignore[arg-type]
                  clock=lambda: now[0])
    assert [inbox.allowed("10.0.0.1") for _ in range(11)] == [True] * 10 + [False]
    assert inbox.allowed("10.0.0.2")                      # another address: its own bucket
    now[0] += 0.2                                         # one request's worth refilled
    assert inbox.allowed("10.0.0.1") and not inbox.allowed("10.0.0.1")

"""Fault knobs and counters: what the pusher's resilience tests lean on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from iys_push.sandbox import Faults, SandboxConfig
from iys_push.sandbox.testing import SandboxServer
from tests.iys_sandbox.helpers import BASE, PHONE, access, call, codes, consent


@pytest.fixture
async def sb() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(requests_per_second=0)) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_eleventh_request_in_one_second_gets_429_h124_and_the_next_second_is_free(
    http: aiohttp.ClientSession,
) -> None:
    async with SandboxServer(SandboxConfig(requests_per_second=10)) as sb:
        fake_now = [1000.0]
        sb.state.monotonic = lambda: fake_now[0]  # real time must not decide this test
        t = await access(http, sb)                # request 1 of this second
        statuses = [(await call(http, sb, "GET", BASE + "/changes", token=t))[0]
                    for _ in range(10)]
        assert statuses == [204] * 9 + [429]
        fake_now[0] += 1.01
        assert (await call(http, sb, "GET", BASE + "/changes", token=t))[0] == 204
        assert sb.state.requests_matching("/changes 429") == 1


async def test_probability_one_fails_every_request_with_that_code(
    sb: SandboxServer, http: aiohttp.ClientSession
) -> None:
    t = await access(http, sb)
    sb.faults.error_rates["H470"] = 1.0
    for _ in range(3):
        status, body = await call(http, sb, "POST", BASE, consent(), t)
        assert status == 500 and codes(body) == ["H470"]
    sb.faults.error_rates.clear()
    assert (await call(http, sb, "POST", BASE, consent(), t))[0] == 200


@pytest.mark.parametrize(("code", "http_status"), [("H124", 429), ("H192", 503)])
async def test_next_n_errors_then_normal_service(
    sb: SandboxServer, http: aiohttp.ClientSession, code: str, http_status: int
) -> None:
    t = await access(http, sb)
    sb.faults.next_errors.extend([code, code])
    assert [(await call(http, sb, "GET", BASE + "/changes", token=t))[0]
            for _ in range(3)] == [http_status, http_status, 204]


async def test_path_filter_spares_the_token_endpoint(
    sb: SandboxServer, http: aiohttp.ClientSession
) -> None:
    sb.faults.path_contains = "/consents"
    sb.faults.error_rate, sb.faults.error_code = 1.0, "H103"
    t = await access(http, sb)  # would fail if the knob reached /oauth2/token
    status, body = await call(http, sb, "POST", BASE, consent(), t)
    assert status == 500 and codes(body) == ["H103"]


async def test_latency_delays_every_answer(sb: SandboxServer,
                                           http: aiohttp.ClientSession) -> None:
    sb.faults.latency = 0.3
    started = time.monotonic()
    await access(http, sb)
    assert time.monotonic() - started >= 0.3


async def test_a_hung_request_outlives_the_client_timeout(
    sb: SandboxServer, http: aiohttp.ClientSession
) -> None:
    t = await access(http, sb)
    sb.faults.hang_next, sb.faults.hang_seconds = 1, 30.0
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(sb.url + BASE, json=consent(), timeout=aiohttp.ClientTimeout(0.3),
                             headers={"Authorization": f"Bearer {t}"}):
            pass
    assert sb.faults.hang_next == 0
    assert (await call(http, sb, "GET", BASE + "/changes", token=t))[0] == 204


async def test_a_lost_answer_was_written_and_a_v2_resend_recovers_it(
    sb: SandboxServer, http: aiohttp.ClientSession
) -> None:
    t = await access(http, sb)
    sb.faults.lose_next = 1
    body = consent()
    status, answer = await call(http, sb, "POST", "/v2" + BASE, body, t)
    assert status == 500 and codes(answer) == ["H103"]
    assert sb.state.accepted_count(700001, PHONE) == 1        # written despite the 500
    status, answer = await call(http, sb, "POST", "/v2" + BASE, body, t)
    assert status == 200 and answer["transactionId"] == sb.state.movements[0].transaction_id
    assert sb.state.accepted_count(700001, PHONE) == 1        # exactly once


async def test_outage_by_connection_reset(sb: SandboxServer,
                                          http: aiohttp.ClientSession) -> None:
    t = await access(http, sb)
    now = sb.clock.now()
    sb.faults.outage_from, sb.faults.outage_until = now, now.replace(year=now.year + 1)
    sb.faults.outage_mode = "reset"
    with pytest.raises(aiohttp.ClientError):
        await call(http, sb, "POST", BASE, consent(), t)
    assert sb.state.movements == []
    sb.faults.outage_until = None
    assert (await call(http, sb, "POST", BASE, consent(), t))[0] == 200


async def test_faults_set_and_cleared_over_http(sb: SandboxServer,
                                                http: aiohttp.ClientSession) -> None:
    held = sb.faults
    status, knobs = await call(http, sb, "POST", "/_sandbox/faults",
                               {"error_rates": {"H123": 1.0}, "latency": 0.01})
    assert status == 200 and knobs["error_rates"] == {"H123": 1.0}
    status, body = await call(http, sb, "POST", "/oauth2/token", {"grant_type": "password"})
    assert status == 400 and codes(body) == ["H123"]
    assert (await call(http, sb, "POST", "/_sandbox/faults", {"clear": True}))[0] == 200
    assert held.error_rates == {} and held.latency == 0.0      # cleared in place
    assert (await call(http, sb, "POST", "/_sandbox/faults", {"nonsense": 1}))[0] == 400


async def test_faults_can_be_configured_at_start(http: aiohttp.ClientSession) -> None:
    config = SandboxConfig(faults=Faults(error_rates={"H103": 1.0}), requests_per_second=0)
    async with SandboxServer(config) as sb:
        status, _ = await call(http, sb, "POST", "/oauth2/token", {"grant_type": "password"})
        assert status == 500
    assert config.faults.error_rates == {"H103": 1.0}  # the config itself is not consumed


async def test_counters_per_endpoint_and_status(sb: SandboxServer,
                                                http: aiohttp.ClientSession) -> None:
    t = await access(http, sb)
    await call(http, sb, "POST", BASE, consent(), t)
    await call(http, sb, "POST", BASE, consent("RET", recipient="+905321234560"), t)
    _, summary = await call(http, sb, "GET", "/_sandbox/state")
    assert summary["requests"] == {"POST /oauth2/token 200": 1,
                                   "POST /sps/{iys}/brands/{brand}/consents 200": 1,
                                   "POST /sps/{iys}/brands/{brand}/consents 400": 1}
    assert summary["token_calls"] == 1
    assert summary["movements_per_key"] == {f"700001|{PHONE}|BIREYSEL|MESAJ": 1}

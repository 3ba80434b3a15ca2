"""The sandbox takes what the brand's own channels send (issue #28, IYS_API.md §3): e-mail
recipients, every HS_* source with its rules, TACIR; and answers each date and state-rule
code (H155, H156, H162, H174, H175, H178, H408, H467) where İYS would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from iys_push.consent_rules import HS_SOURCES
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer
from tests.iys_sandbox.helpers import BASE, PHONE, WEDNESDAY_NOON, access, call, codes, consent

NOW = WEDNESDAY_NOON
MAIL = "musteri@ornek.com.tr"


@pytest.fixture
async def sb() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(requests_per_second=0)) as server:
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


@pytest.mark.parametrize("source", sorted(set(HS_SOURCES) - {"HS_2015", "HS_KARAR"}))
async def test_every_hs_source_is_taken_for_an_onay(sb: SandboxServer,
                                                    http: aiohttp.ClientSession, t: str,
                                                    source: str) -> None:
    status, body = await call(http, sb, "POST", BASE, at(5, source=source), t)
    assert status == 200 and len(body["transactionId"]) == 64
    assert sb.state.movements[0].source == source


async def test_eposta_and_tacir_are_taken_and_hs_karar_withdraws(
        sb: SandboxServer, http: aiohttp.ClientSession, t: str) -> None:
    mail = {"type": "EPOSTA", "recipient": MAIL, "source": "HS_EPOSTA"}
    assert (await call(http, sb, "POST", BASE, at(9, **mail), t))[0] == 200
    karar = at(3, "RET", **{**mail, "source": "HS_KARAR"})
    assert (await call(http, sb, "POST", BASE, karar, t))[0] == 200
    assert [m.status for m in sb.state.movements_for(700001, MAIL, type_="EPOSTA")] == [
        "ONAY", "RET"]
    tacir = at(5, recipientType="TACIR", source="HS_FIZIKSEL_ORTAM")
    assert (await call(http, sb, "POST", BASE, tacir, t))[0] == 200


CODES = [
    # (earlier movements of the key, the consent sent, HTTP status, code)
    ([], at(1, source="HS_2015"), 422, "H155"),
    ([], consent("ONAY", NOW.replace(year=2015, month=5, day=1, hour=0, minute=0),
                 source="HS_2015"), 422, "H467"),
    ([], at(60 * 24 * 365 * 12), 422, "H156"),
    ([], at(-10), 422, "H162"),
    ([], at(60 * 24 * 8), 422, "H467"),
    ([], at(1, source="HS_KARAR"), 422, "H408"),          # HS_KARAR with ONAY
    ([], at(1, "RET", source="HS_KARAR"), 400, "H175"),   # …or as a first movement
    ([], at(1, "RET"), 400, "H175"),
    ([at(9), at(5, "RET")], at(1, "RET"), 400, "H174"),
    ([at(5)], at(9, "RET"), 400, "H178"),
]


@pytest.mark.parametrize(("before", "sent", "status", "code"), CODES)
async def test_each_date_and_state_rule_code_is_reachable(
        sb: SandboxServer, http: aiohttp.ClientSession, t: str,
        before: list[dict[str, object]], sent: dict[str, object], status: int,
        code: str) -> None:
    for earlier in before:
        assert (await call(http, sb, "POST", BASE, earlier, t))[0] == 200
    got, body = await call(http, sb, "POST", BASE, sent, t)
    assert (got, codes(body)) == (status, [code])
    assert body["errors"][0]["message"]
    assert len(sb.state.movements_for(700001, PHONE)) == len(before)

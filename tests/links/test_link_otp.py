"""Brand-wide links (issue #30 item 4): the number, a 6-digit code by SMS (read here from
the outbox row the sender would submit), three tries, five minutes, per-number and
per-address limits, and the consent recorded only after the right code."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest

from inbound.link_settings import ConsentLinkSettings
from tests.links.conftest import BASE_URL, RECIPIENT, TOKEN, Links, make_links

OTP = re.compile(r'name="otp" value="([0-9]+)"')
SETTINGS = ConsentLinkSettings(base_url=BASE_URL, otp_link="peer", otp_outbox="peer",
                               otp_source="ACME", otp_per_number_per_hour=3,
                               otp_per_address_per_hour=10)


@pytest.fixture
async def wide(pool: asyncpg.Pool, aiohttp_client: Any) -> Links:
    return await make_links(pool, aiohttp_client, SETTINGS)


async def ask(links: Links, code: str, phone: str = "0532 123 45 67") -> tuple[int, str]:
    _, page = await links.open(code)
    token = TOKEN.search(page).group(1)
    response = await links.client.post(f"/r/{code}", data={"token": token, "phone": phone})
    return response.status, await response.text()


async def sent_code(links: Links) -> str:
    text = await links.pool.fetchval("SELECT text FROM sms_out WHERE kind = 'otp' "
                                     "ORDER BY id DESC LIMIT 1")
    return re.search(r"\b([0-9]{6})\b", text).group(1)


async def enter(links: Links, code: str, page: str, otp_code: str,
                status: str | None = None) -> tuple[int, str]:
    form = {"token": TOKEN.search(page).group(1), "otp": OTP.search(page).group(1),
            "code": otp_code}
    if status:
        form["status"] = status
    response = await links.client.post(f"/r/{code}/verify", data=form)
    return response.status, await response.text()


async def test_the_right_code_records_and_a_second_entry_answers_the_first(wide: Links) -> None:
    made = await wide.mint(recipient=None)
    assert made["recipient"] is None
    status, page = await wide.open(made["code"])
    assert status == 200 and 'type="tel"' in page and "<script" not in page
    status, page = await ask(wide, made["code"])
    assert status == 200 and "+90532*****67" in page
    [sms] = await wide.pool.fetch("SELECT * FROM sms_out")
    assert (sms["recipient"], sms["link"], sms["source_addr"], sms["kind"],
            sms["message_id"]) == (RECIPIENT, "peer", "ACME", "otp", None)
    code = await sent_code(wide)
    stored = await wide.pool.fetchrow("SELECT * FROM consent_link_otp")
    assert code.encode() not in bytes(stored["code_digest"])   # only its HMAC is kept
    assert await wide.pool.fetchval("SELECT count(*) FROM consent_event") == 0
    status, done = await enter(wide, made["code"], page, code)
    assert status == 200 and "Tercihiniz kaydedildi" in done
    [event] = await wide.pool.fetch("SELECT * FROM consent_event")
    assert (event["recipient"], event["status"], event["source"]) == (RECIPIENT, "RET", "HS_WEB")
    status, again = await enter(wide, made["code"], page, code)
    assert "daha önce kaydedildi" in again
    assert await wide.pool.fetchval("SELECT count(*) FROM consent_event") == 1


async def test_three_wrong_codes_spend_it(wide: Links) -> None:
    made = await wide.mint(recipient=None)
    _, page = await ask(wide, made["code"])
    code = await sent_code(wide)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    _, first = await enter(wide, made["code"], page, wrong)
    assert "kalan deneme: 2" in first
    _, second = await enter(wide, made["code"], page, "12")   # malformed: a try too
    assert "kalan deneme: 1" in second
    _, third = await enter(wide, made["code"], page, wrong)
    assert "yeni bir kod isteyin" in third
    _, late = await enter(wide, made["code"], page, code)    # the right one, too late
    assert "yeni bir kod isteyin" in late
    assert await wide.pool.fetchval("SELECT count(*) FROM consent_event") == 0


async def test_an_expired_code_records_nothing(wide: Links) -> None:
    made = await wide.mint(recipient=None)
    _, page = await ask(wide, made["code"])
    code = await sent_code(wide)
    await wide.pool.execute("UPDATE consent_link_otp SET expires_at = now() - interval '1 s'")
    _, late = await enter(wide, made["code"], page, code)
    assert "yeni bir kod isteyin" in late
    assert await wide.pool.fetchval("SELECT count(*) FROM consent_event") == 0


async def test_codes_are_limited_per_number_and_a_bad_number_is_refused(wide: Links) -> None:
    made = await wide.mint(recipient=None)
    status, page = await ask(wide, made["code"], "0212 123 45 67")
    assert status == 200 and "Geçerli bir Türkiye cep telefonu" in page
    statuses = [(await ask(wide, made["code"]))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert await wide.pool.fetchval("SELECT count(*) FROM sms_out") == 3
    # another number from the same address still gets its code
    assert (await ask(wide, made["code"], "0555 111 22 33"))[0] == 200


async def test_a_choice_link_records_the_button_pressed(wide: Links) -> None:
    made = await wide.mint(recipient=None, action="choice")
    _, page = await ask(wide, made["code"])
    status, done = await enter(wide, made["code"], page, await sent_code(wide), "ONAY")
    assert status == 200 and "onay verdiniz" in done
    assert await wide.pool.fetchval("SELECT status FROM consent_event") == "ONAY"

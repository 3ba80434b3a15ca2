"""Consent links over HTTP (issue #30): minting, the page, the one tap that records, the
second tap, previews that record nothing, and codes that cannot be probed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from inbound.api import PREFIX
from inbound.consent_links import CODE_PATTERN, new_codes, normalise_mobile
from tests.links.conftest import BASE_URL, RECIPIENT, TOKEN, Links, make_links


async def counts(links: Links) -> tuple[int, int]:
    return (await links.pool.fetchval("SELECT count(*) FROM consent_submission"),
            await links.pool.fetchval("SELECT count(*) FROM consent_event"))


def test_codes_are_eleven_base62_characters_and_differ() -> None:
    codes = new_codes(20_000)
    assert all(CODE_PATTERN.fullmatch(c) for c in codes)
    assert len(set(codes)) == len(codes)
    # every one of the 62 characters turns up in every position (no bias toward a few)
    for position in (0, 5, 10):
        assert len({c[position] for c in codes}) == 62


def test_mobile_numbers_in_common_forms() -> None:
    for raw in ("0532 123 45 67", "+90 (532) 123-45-67", "905321234567", "5321234567"):
        assert normalise_mobile(raw) == RECIPIENT, raw
    for raw in ("0212 123 45 67", "+905001", "abc", "+1 202 555 0100", "5611234567"):
        assert normalise_mobile(raw) is None, raw


async def test_a_minted_link_is_stored_only_as_its_digest(links: Links) -> None:
    made = await links.mint(recipient="0532 123 45 67")
    assert made["url"] == f"{BASE_URL}/{made['code']}"
    assert CODE_PATTERN.fullmatch(made["code"])
    assert (made["action"], made["types"], made["recipient"]) == ("RET", ["MESAJ"], RECIPIENT)
    row = await links.pool.fetchrow("SELECT * FROM consent_link WHERE id = $1", made["id"])
    assert bytes(row["code_hash"]) == hashlib.sha256(made["code"].encode()).digest()
    assert made["code"] not in json.dumps({k: str(v) for k, v in dict(row).items()})


async def test_refused_link_inputs(links: Links) -> None:
    url = f"{PREFIX}/brands/acme/links"
    for body, field in (({"recipient": "0212 123 45 67"}, "recipient"),
                        ({"action": "MAYBE"}, "action"),
                        ({"types": ["EPOSTA"]}, "types"),
                        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
                        ({"colour": "red"}, "colour")):
        response = await links.client.post(url, json=body, headers=links.auth)
        assert response.status == 422, body
        assert field in await response.text()
    response = await links.client.post(f"{PREFIX}/brands/kuzey/links", json={},
                                       headers=links.auth)
    assert response.status == 404   # another owner's brand


async def test_previews_by_get_and_head_record_nothing(links: Links) -> None:
    made = await links.mint()
    bot = {"User-Agent": "WhatsApp/2.23 (link preview)"}
    for method in ("GET", "HEAD", "GET"):
        status, _ = await links.open(made["code"], method, **bot)
        assert status == 200
    status, page = await links.open(made["code"])
    assert "ACME" in page and "+90532*****67" in page and RECIPIENT not in page
    assert 'lang="tr"' in page and "<script" not in page
    assert await counts(links) == (0, 0)
    assert await links.pool.fetchval("SELECT confirmed_at FROM consent_link") is None


async def test_the_tap_records_a_web_ret_with_its_evidence(links: Links) -> None:
    made = await links.mint()
    before = datetime.now(UTC)
    status, page = await links.tap(made["code"])
    assert status == 200 and "Tercihiniz kaydedildi" in page
    [event] = await links.pool.fetch("SELECT * FROM consent_event")
    assert (event["recipient"], event["status"], event["source"], event["type"],
            event["state"]) == (RECIPIENT, "RET", "HS_WEB", "MESAJ", "pending")
    assert before <= event["consent_date"] <= datetime.now(UTC)
    assert event["received_at"] == event["consent_date"]
    assert event["deadline_at"] > event["consent_date"] + timedelta(days=2)
    sub = await links.pool.fetchrow("SELECT * FROM consent_submission")
    assert (sub["via"], sub["actor"]) == ("link", f"link:{made['id']}")
    evidence = sub["evidence"]
    assert evidence["link_id"] == made["id"]
    assert evidence["user_agent"] == "Mozilla/5.0 (test phone)"
    assert evidence["ip"] == "127.0.0.1"
    assert evidence["opened_at"] <= evidence["confirmed_at"]


async def test_a_second_tap_answers_the_first_result(links: Links) -> None:
    made = await links.mint(action="choice")
    _, page = await links.open(made["code"])
    token = TOKEN.search(page).group(1)   # the same page's button, pressed twice
    status, first = await links.tap(made["code"], "ONAY", token)
    assert status == 200 and "onay verdiniz" in first
    status, again = await links.tap(made["code"], "RET", token)
    assert status == 200 and "daha önce kaydedildi" in again and "onay verdiniz" in again
    status, opened = await links.open(made["code"])
    assert "daha önce kaydedildi" in opened
    rows = await links.pool.fetch("SELECT status FROM consent_event")
    assert [r["status"] for r in rows] == ["ONAY"]


async def test_a_tap_without_the_pages_token_records_nothing(links: Links) -> None:
    made = await links.mint()
    for token in ("", "1700000000.deadbeef", "not-a-token"):
        status, page = await links.tap(made["code"], token=token)
        assert status == 200 and "yeniden dokunun" in page
    assert await counts(links) == (0, 0)


async def test_expired_revoked_and_guessed_codes_get_one_page(links: Links) -> None:
    expired = await links.mint()
    await links.pool.execute("UPDATE consent_link SET expires_at = now() - interval '1 s' "
                             "WHERE id = $1", expired["id"])
    revoked = await links.mint()
    response = await links.client.delete(f"{PREFIX}/brands/acme/links/{revoked['id']}",
                                         headers=links.auth)
    assert response.status == 204
    answers = set()
    for code in (expired["code"], revoked["code"], new_codes(1)[0], "x", "a" * 300):
        status, page = await links.open(code)
        answers.add((status, page))
        status, page = await links.tap(code, token="1.x") if CODE_PATTERN.fullmatch(
            code) else (status, page)
        answers.add((status, page))
    assert len(answers) == 1
    [(status, page)] = answers
    assert status == 404 and "artık geçerli değil" in page
    assert await counts(links) == (0, 0)


async def test_guessing_codes_is_limited_per_address(pool: Any, aiohttp_client: Any) -> None:
    from inbound.link_settings import ConsentLinkSettings

    links = await make_links(pool, aiohttp_client, ConsentLinkSettings(
        base_url=BASE_URL, invalid_codes_per_10_minutes=5))
    statuses = [(await links.open(code))[0] for code in new_codes(7)]
    assert statuses == [404] * 5 + [429] * 2


async def test_english_switch_and_privacy_notice_of_the_brand(links: Links) -> None:
    await links.pool.execute(
        "UPDATE brand SET settings = settings || $1::jsonb WHERE id = 'acme'",
        {"privacy_notice": {"url": "https://acme.example/kvkk"}})
    made = await links.mint()
    status, page = await links.open(made["code"] + "?lang=en")
    assert status == 200 and 'lang="en"' in page and "Stop these messages" in page
    assert 'href="https://acme.example/kvkk"' in page
    status, done = await links.tap(made["code"] + "?lang=en")
    assert "Your choice is recorded" in done


async def test_bulk_minting_streams_a_csv(links: Links) -> None:
    body = "name,recipient\nAli,0532 123 45 67\nAyşe,+905551112233\n\nVeli,5441234567\n"
    response = await links.client.post(
        f"{PREFIX}/brands/acme/links.csv?action=RET&types=MESAJ,ARAMA", data=body.encode(),
        headers={**links.auth, "Content-Type": "text/csv"})
    assert response.status == 200, await response.text()
    lines = (await response.text()).splitlines()
    assert lines[0] == "recipient,url"
    assert [line.split(",")[0] for line in lines[1:]] == ["0532 123 45 67", "+905551112233",
                                                          "5441234567"]
    assert all(line.split(",")[1].startswith(BASE_URL + "/") for line in lines[1:])
    rows = await links.pool.fetch("SELECT recipient, types FROM consent_link ORDER BY id")
    assert [(r["recipient"], r["types"]) for r in rows] == [
        (n, ["MESAJ", "ARAMA"]) for n in ("+905321234567", "+905551112233", "+905441234567")]
    # a code of the file opens its recipient's page
    status, page = await links.open(lines[2].split(",")[1].rsplit("/", 1)[1])
    assert status == 200 and "+90555*****33" in page


async def test_bulk_minting_refuses_a_file_with_bad_lines(links: Links) -> None:
    response = await links.client.post(
        f"{PREFIX}/brands/acme/links.csv", data=b"05321234567\nnot a number\n0212 1\n",
        headers={**links.auth, "Content-Type": "text/csv"})
    assert response.status == 422
    problem = await response.json()
    assert [e["field"] for e in problem["errors"]] == ["line 2", "line 3"]
    assert await links.pool.fetchval("SELECT count(*) FROM consent_link") == 0


async def test_the_recipients_evidence_shows_the_link_and_its_tap(links: Links) -> None:
    made = await links.mint()
    await links.tap(made["code"])
    response = await links.client.get(f"{PREFIX}/brands/acme/recipients/{RECIPIENT}",
                                      headers=links.auth)
    history = await response.json()
    [sub] = history["submissions"]
    assert (sub["via"], sub["actor"]) == ("link", f"link:{made['id']}")
    assert sub["evidence"]["link_id"] == made["id"] and sub["evidence"]["ip"] == "127.0.0.1"
    [event] = [e for e in history["events"] if e["source"] == "HS_WEB"]
    assert event["submission_id"] == sub["id"]
    link = await (await links.client.get(f"{PREFIX}/brands/acme/links/{made['id']}",
                                         headers=links.auth)).json()
    assert link["submission_id"] == sub["id"] and link["confirmed_at"] is not None
    assert "code" not in link


async def test_a_brand_wide_link_is_refused_without_a_sending_link(links: Links) -> None:
    response = await links.client.post(f"{PREFIX}/brands/acme/links", json={},
                                       headers=links.auth)
    assert response.status == 409
    assert "links.otp_link" in (await response.json())["detail"]
    # one made before the sending link was removed: the page says it cannot be used
    from inbound import consent_links
    from inbound.consent_links import LinkSpec

    _, code = await consent_links.mint_one(links.pool, LinkSpec("acme"), None)
    status, page = await links.open(code)
    assert status == 503 and "kullanılamıyor" in page


async def test_bulk_minting_refuses_a_file_without_recipients(links: Links) -> None:
    for body in (b"", b"recipient\n", b"\n\n"):
        response = await links.client.post(
            f"{PREFIX}/brands/acme/links.csv", data=body,
            headers={**links.auth, "Content-Type": "text/csv"})
        assert response.status == 422, body


async def test_metrics_count_openings_confirmations_and_expired_links(links: Links) -> None:
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    labels = {"brand": "acme", "action": "RET"}
    before = {n: value(f"iys_inbound_link_{n}_total", **labels)
              for n in ("opened", "confirmed", "expired")}
    made = await links.mint()
    await links.open(made["code"], "HEAD")          # a preview's probe is no opening
    await links.tap(made["code"])                   # one GET, then the POST
    expired = await links.mint(expires_at="2099-01-01T00:00:00Z")
    await links.pool.execute("UPDATE consent_link SET expires_at = now() WHERE id = $1",
                             expired["id"])
    await links.open(expired["code"])
    after = {n: value(f"iys_inbound_link_{n}_total", **labels)
             for n in ("opened", "confirmed", "expired")}
    assert {n: after[n] - before[n] for n in after} == {"opened": 1, "confirmed": 1,
                                                        "expired": 1}


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_evidence(
        pool: Any, aiohttp_client: Any) -> None:
    from inbound import link_settings
    from inbound.proxies import TRUSTED_PROXIES, TrustedProxies, parse_networks
    from tests.links import conftest

    app = conftest.make_app(pool, link_settings.ConsentLinkSettings(base_url=BASE_URL))
    app[TRUSTED_PROXIES] = TrustedProxies(parse_networks(["127.0.0.1"]))
    links = await make_links(pool, aiohttp_client)
    links.client = await aiohttp_client(app)
    made = await links.mint()
    _, page = await links.open(made["code"])
    token = TOKEN.search(page).group(1)
    response = await links.client.post(f"/r/{made['code']}", data={"token": token},
                                       headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status == 200
    evidence = await links.pool.fetchval("SELECT evidence FROM consent_submission")
    assert evidence["ip"] == "203.0.113.9"


async def test_hostile_bodies_get_a_page_never_a_server_error(links: Links) -> None:
    made = await links.mint()
    for content_type, body in (
            ("application/x-www-form-urlencoded", b"\xff\xfe\x00token=%ZZ&&=="),
            ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
            ("multipart/form-data", b"no boundary"),
            ("application/x-www-form-urlencoded", b"token=" + b"A" * 20_000),
            ("text/plain", b"token=1.2")):
        response = await links.client.post(f"/r/{made['code']}", data=body,
                                           headers={"Content-Type": content_type})
        assert response.status < 500, (content_type, response.status)
    assert await links.pool.fetchval("SELECT count(*) FROM consent_event") == 0

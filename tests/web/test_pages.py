"""The web page over plain HTTP (no browser): sign-in, CSRF, lock-out, scoping by URL, every
page rendering, changes through the API's validation, CSV and the evidence page."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from inbound.web import auth
from inbound.web.limits import FailedSignIns
from tests.web.conftest import (
    EMAIL_A,
    EMAIL_B,
    PASSWORD_A,
    PASSWORD_B,
    RECIPIENT,
    Site,
    csrf_of,
    make_app,
    sign_in,
)


async def test_pages_need_a_session(client: TestClient) -> None:
    for path in ("/ui/", "/ui/brands", "/ui/brands/acme", "/ui/brands/acme/events",
                 f"/ui/brands/acme/recipients/{RECIPIENT}", "/ui/brands/acme/events.csv"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"] == "/ui/login"
    response = await client.post("/ui/brands/acme", data={"name": "X"})
    assert response.status == 401


async def test_sign_in_and_out(client: TestClient) -> None:
    form = await client.get("/ui/login")
    response = await client.post("/ui/login", allow_redirects=False, data={
        "csrf": csrf_of(await form.text()), "email": EMAIL_A.upper(), "password": PASSWORD_A})
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(auth.SESSION_COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui/" in cookie
    html = await (await client.get("/ui/brands")).text()
    assert "ACME" in html and "KUZEY KAHVE" not in html
    response = await client.post("/ui/logout", data={"csrf": csrf_of(html)})
    assert response.status == 200 and 'action="/ui/login"' in await response.text()
    response = await client.get("/ui/brands", allow_redirects=False)
    assert response.status == 303


async def test_wrong_password_and_unknown_email(client: TestClient) -> None:
    status, html = await sign_in(client, password="wrong-password")
    assert status == 401 and "parola hatalı" in html
    status, html = await sign_in(client, email="nobody@example.com")
    assert status == 401 and "parola hatalı" in html


async def test_sign_in_form_needs_its_csrf_token(client: TestClient) -> None:
    await client.get("/ui/login")
    response = await client.post("/ui/login", data={"csrf": "forged", "email": EMAIL_A,
                                                    "password": "x"})
    assert response.status == 403


async def test_forms_refuse_a_missing_or_wrong_csrf_token(client: TestClient,
                                                         site: Site) -> None:
    _, html = await sign_in(client)
    before = await site.pool.fetchval("SELECT count(*) FROM config_audit")
    for data in ({"name": "HACKED"}, {"name": "HACKED", "csrf": "nope"}):
        response = await client.post("/ui/brands/acme", data=data)
        assert response.status == 403
    response = await client.post("/ui/explain", json={"number": "4609", "text": "RET ACME"})
    assert response.status == 403
    response = await client.post("/ui/logout", data={})
    assert response.status == 403
    assert await site.pool.fetchval("SELECT name FROM brand WHERE id = 'acme'") == "ACME"
    assert await site.pool.fetchval("SELECT count(*) FROM config_audit") == before


async def test_lock_out_after_repeated_failures(client: TestClient, site: Site) -> None:
    for _ in range(auth.MAX_FAILURES - 1):
        status, _ = await sign_in(client, password="wrong-password")
        assert status == 401
    status, html = await sign_in(client, password="wrong-password")
    assert status == 429 and "kilitlendi" in html
    status, html = await sign_in(client)  # the right password does not open it now
    assert status == 429
    # the lock is the e-mail address's (issue #25: counted whether or not an owner has it)
    await site.pool.execute(
        "UPDATE web_sign_in_failure SET locked_until = now() - interval '1 second'")
    status, _ = await sign_in(client)
    assert status == 200


async def test_an_address_spraying_passwords_over_accounts_is_refused(
    site: Site, aiohttp_client: Any
) -> None:
    # a few wrong passwords on each of several accounts locks none of them (each stays under
    # MAX_FAILURES), but the address that sent them all is refused, even the right password
    client = await aiohttp_client(make_app(site.pool, FailedSignIns(limit=4)))
    for email in (EMAIL_A, EMAIL_B, EMAIL_A, "nobody@example.com"):
        status, _ = await sign_in(client, email=email, password="Summer2026!")
        assert status == 401
    assert await site.pool.fetchval("SELECT max(failed_logins) FROM owner") < auth.MAX_FAILURES
    status, html = await sign_in(client, email=EMAIL_B, password=PASSWORD_B)
    assert status == 429 and "Bu adresten" in html
    assert await site.pool.fetchval("SELECT count(*) FROM web_session") == 0
    # the accounts themselves are not locked: from elsewhere (a fresh limit) they open
    other = await aiohttp_client(make_app(site.pool))
    status, _ = await sign_in(other, email=EMAIL_B, password=PASSWORD_B)
    assert status == 200


async def test_password_reset_ends_sessions(client: TestClient, site: Site) -> None:
    await sign_in(client)
    assert (await client.get("/ui/brands", allow_redirects=False)).status == 200
    assert await auth.set_password(site.pool, site.owner_a, "new-password-789")
    assert (await client.get("/ui/brands", allow_redirects=False)).status == 303
    assert not await auth.set_password(site.pool, 999999, "new-password-789")


async def test_another_owners_pages_are_not_found(client: TestClient) -> None:
    await sign_in(client, EMAIL_B, PASSWORD_B)
    for path in ("/ui/brands/acme", "/ui/brands/acme/events", "/ui/brands/acme/events.csv",
                 f"/ui/brands/acme/recipients/{RECIPIENT}", "/ui/brands/nosuch"):
        response = await client.get(path)
        assert response.status == 404, path
        assert RECIPIENT not in await response.text()
    html = await (await client.get("/ui/brands/kuzey")).text()
    response = await client.post("/ui/brands/acme", data={"csrf": csrf_of(html), "name": "X"})
    assert response.status == 404


async def test_every_page_renders(client: TestClient) -> None:
    await sign_in(client)
    for lang in ("tr", "en"):
        await client.get(f"/ui/lang?to={lang}&next=/ui/brands")
        for path in ("/ui/brands", "/ui/brands/acme", "/ui/brands/acme/events",
                     "/ui/brands/acme/events?status=RET&state=pending&since=2024-01-01",
                     f"/ui/brands/acme/recipients/{RECIPIENT}"):
            response = await client.get(path)
            html = await response.text()
            assert response.status == 200, path
            assert f'<html lang="{lang}"' in html and "<h1>" in html
    assert "Sign out" in html
    response = await client.get("/ui/static/app.js")
    assert response.status == 200 and "fetch" in await response.text()


async def test_language_switch_stays_on_the_site(client: TestClient) -> None:
    response = await client.get("/ui/lang?to=en&next=https://evil.example/",
                                allow_redirects=False)
    assert response.headers["Location"] == "/ui/"


async def test_brand_change_goes_through_the_api_and_is_audited(client: TestClient,
                                                                site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme")).text()
    response = await client.post("/ui/brands/acme", data={
        "csrf": csrf_of(html), "name": "ACME", "aliases": "ACME MARKET\nACMECIM",
        "extra_opt_out": "BITIR", "reply_RET": "{brand} listesinden çıktınız.",
        "off_ONAY": "1"})
    assert response.status == 200 and "Kaydedildi" in await response.text()
    row = await site.pool.fetchrow("SELECT aliases, settings FROM brand WHERE id = 'acme'")
    assert row["aliases"] == ["ACME MARKET", "ACMECIM"]
    assert row["settings"]["extra_opt_out"] == ["BITIR"]
    assert row["settings"]["replies"] == {"RET": "{brand} listesinden çıktınız.", "ONAY": ""}
    audit = await site.pool.fetchrow(
        "SELECT actor_owner_id, actor_admin, action FROM config_audit "
        "WHERE resource = 'brand' ORDER BY id DESC LIMIT 1")
    assert (audit["actor_owner_id"], audit["actor_admin"], audit["action"]) == (
        site.owner_a, False, "update")
    answer = await client.post("/ui/explain", json={"number": "4609", "text": "bitir acmecim"},
                               headers={"X-CSRF-Token": csrf_of(html)})
    result = await answer.json()
    assert result["outcome"] == "consent" and result["events"][0]["brand"] == "acme"


async def test_conflicting_alias_is_shown_next_to_the_field(client: TestClient,
                                                            site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme")).text()
    response = await client.post("/ui/brands/acme", data={
        "csrf": csrf_of(html), "name": "ACME", "aliases": "ACME MARKET\nKUZEY"})
    html = await response.text()
    assert response.status == 409
    assert 'id="err-aliases"' in html and "başka bir markada kullanılıyor" in html
    assert "Kuzey Kahve Ltd." not in html  # the other brand's owner is never named
    assert await site.pool.fetchval("SELECT aliases FROM brand WHERE id = 'acme'") == [
        "ACME MARKET"]


async def test_invalid_input_is_refused_by_the_api_validation(client: TestClient) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme")).text()
    response = await client.post("/ui/brands/acme", data={
        "csrf": csrf_of(html), "name": "ACME", "reply_RET": "x" * 700})
    html = await response.text()
    assert response.status == 422 and 'id="err-reply_RET"' in html


async def test_explain_without_javascript(client: TestClient) -> None:
    _, html = await sign_in(client)
    response = await client.post("/ui/explain", data={"csrf": csrf_of(html), "number": "4609",
                                                      "text": "RET KUZEY"})
    html = await response.text()
    assert response.status == 200
    assert "another owner" in html and "Kuzey Kahve" not in html
    response = await client.post("/ui/explain", data={"csrf": csrf_of(html),
                                                      "number": "908505320000", "text": "ret"})
    assert 'data-outcome="consent">izin/ret kaydedildi' in await response.text()


async def test_events_page_shows_the_pending_deadline_and_filters(client: TestClient) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/events")).text()
    assert "+905551112233" in html and RECIPIENT in html and "+905559998877" not in html
    assert "kalan" in html  # the pending RET: 3 days minus two hours left
    assert "<svg" in html
    html = await (await client.get("/ui/brands/acme/events?state=accepted")).text()
    assert RECIPIENT in html and "+905551112233" not in html
    response = await client.get("/ui/brands/acme/events?since=not-a-date")
    assert response.status == 422


async def test_pagination(client: TestClient) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/events")).text()
    assert "Sonraki sayfa" not in html
    html = await (await client.get("/ui/brands/acme/events?limit=1&state=")).text()
    assert "+905551112233" in html and RECIPIENT not in html
    link = re.search(r'href="([^"]+)">Sonraki sayfa', html)
    assert link
    html = await (await client.get(link.group(1).replace("&amp;", "&"))).text()
    assert RECIPIENT in html and "+905551112233" not in html and "İlk sayfa" in html


async def test_csv_export_of_the_current_filter(client: TestClient) -> None:
    await sign_in(client)
    response = await client.get("/ui/brands/acme/events.csv?state=pending")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    # for Excel in Turkish (issue #33): BOM, ';', Turkey time with the zone in the header
    raw = await response.read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert [r["recipient"] for r in rows] == ["+905551112233"]
    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
                        rows[0]["received_at (Europe/Istanbul)"])
    await client.get("/ui/lang?to=en&next=/ui/brands")
    english = await (await client.get("/ui/brands/acme/events.csv?state=pending")).read()
    assert next(csv.reader(io.StringIO(english.decode("utf-8-sig"))))[0] == "id"


async def test_evidence_page(client: TestClient) -> None:
    await sign_in(client)
    response = await client.get(f"/ui/brands/acme/recipients/{RECIPIENT}")
    html = await response.text()
    assert response.status == 200
    assert "RET ACME" in html and "tx-1" in html and "deliver_sm" in html
    assert "/sps/700001/brands/700001/consents" in html


async def test_markup_in_data_is_escaped(client: TestClient, site: Site) -> None:
    await site.pool.execute("UPDATE brand SET name = '<script>alert(1)</script>' "
                            "WHERE id = 'acme'")
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme")).text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(("path", "entry"), [
    ("/ui/brands", "/ui/brands"),
    ("/ui/brands/acme", "/ui/brands"),
    ("/ui/brands/acme/consents/new", "/ui/brands"),
    ("/ui/brands/acme/imports", "/ui/imports"),
    ("/ui/imports/7?x=1", "/ui/imports"),
    ("/ui/brands/acme/overview", "/ui/overview"),
    ("/ui/mirror", "/ui/mirror"),
    ("/ui/brands/users", "/ui/brands"),      # a brand's id never lights up another entry
    ("/ui/", None),
])
def test_the_menu_marks_the_entry_a_page_belongs_to(path: str, entry: str | None) -> None:
    from inbound.web.html import NAV, current_entry

    assert current_entry(path, [href for _, href, _ in NAV]) == entry

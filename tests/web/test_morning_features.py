"""The morning page with the features that landed after it (issue #33 with #29-#32): the
menu's entries for bulk upload and reconciliation by role, their landing pages, the
overview's box (uploads in progress, the mirror's freshness and drift), and no button a
viewer cannot use."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from inbound import store
from inbound.api import routes_imports
from keywords import RuleSet
from tests.imports.files import TR_HEADERS, csv_bytes, recent
from tests.web.conftest import Site, csrf_of, sign_in
from tests.web.test_accounts import _invite
from tests.web.test_imports import form as upload_form

ROWS = [("0532 123 45 67", "MESAJ", "ONAY", "HS_ISLAK_IMZA", "", recent())]


async def test_the_menu_and_the_overview_show_uploads_and_the_mirror(
        client: TestClient, site: Site) -> None:
    await site.pool.execute(
        "INSERT INTO iys_mirror_status (brand_code, pulled_at, push_registered) "
        "VALUES (700001, now() - interval '5 minutes', false)")
    await site.pool.execute(
        "INSERT INTO iys_reconciliation (brand_code, day, outcome, file_rows, drift_rows, "
        "drift, hash_ok) VALUES (700001, current_date - 1, 'drift', 4, 2, '[]', true)")
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/imports")).text()
    assert 'href="/ui/imports"' in html and 'href="/ui/mirror"' in html   # the menu
    uploaded = await client.post("/ui/brands/acme/imports", allow_redirects=False,
                                 data=upload_form(csrf_of(html), csv_bytes(
                                     ROWS, header=TR_HEADERS, sep=";")))
    assert uploaded.status == 303
    await routes_imports.wait_for_storing()   # stored; pushing (no pusher runs here)
    overview = await (await client.get("/ui/brands/acme/overview")).text()
    box = overview.split('id="status-h"')[1].split("</section>")[0]
    assert uploaded.headers["Location"] in box and "magaza.csv" in box
    assert "İYS&#x27;ye gönderiliyor" in box
    assert "sapma: 2 kayıt" in box and "(güncel)" in box, box
    assert 'href="/ui/brands/acme/mirror"' in box
    landing = await client.get("/ui/imports", allow_redirects=False)
    assert landing.headers["Location"] == "/ui/brands/acme/imports"
    landing = await client.get("/ui/mirror", allow_redirects=False)
    assert landing.headers["Location"] == "/ui/brands/acme/mirror"
    await site.pool.execute("UPDATE consent_import SET state = 'finished'")
    overview = await (await client.get("/ui/brands/acme/overview")).text()
    assert "Süren yükleme yok." in overview


async def test_a_viewer_meets_no_button_it_cannot_use(client: TestClient, site: Site) -> None:
    await sign_in(client)
    admin_pages = {p: await (await client.get(p)).text() for p in (
        "/ui/brands/acme", "/ui/brands/acme/imports", "/ui/webhooks",
        "/ui/brands/acme/consents/new")}
    assert 'class="sticky-save"' in admin_pages["/ui/brands/acme"]
    assert 'enctype="multipart/form-data"' in admin_pages["/ui/brands/acme/imports"]
    assert 'action="/ui/webhooks"' in admin_pages["/ui/webhooks"]
    password = await _invite(client, "izleyici@acme.example", "viewer")
    client.session.cookie_jar.clear()
    await sign_in(client, "izleyici@acme.example", password)
    brand = await (await client.get("/ui/brands/acme")).text()
    assert 'class="sticky-save"' not in brand and "data-read-only" in brand
    imports = await (await client.get("/ui/brands/acme/imports")).text()
    assert 'enctype="multipart/form-data"' not in imports and 'href="/ui/imports"' not in imports
    hooks = await (await client.get("/ui/webhooks")).text()
    assert 'action="/ui/webhooks"' not in hooks and 'action="/ui/notices"' not in hooks
    consent = await (await client.get("/ui/brands/acme/consents/new")).text()
    assert "data-read-only" in consent
    overview = await (await client.get("/ui/brands/acme/overview")).text()
    assert "/consents/new" not in overview and 'href="/ui/mirror"' in overview
    # a viewer reads the values but cannot type in them
    assert '<fieldset disabled class="plain">' in brand
    assert re.search(r'<fieldset disabled class="plain"><div><label for="c-recipient">', consent)
    assert '<fieldset disabled' not in admin_pages["/ui/brands/acme/consents/new"]
    # the only submit buttons left on a viewer's pages are those every role may use
    for html in (brand, imports, hooks, consent, overview):
        for action, inner in re.findall(r'<form method="post" action="([^"]+)"(.*?)</form>',
                                        html, flags=re.S):
            if 'type="submit"' in inner:
                assert action in ("/ui/logout", "/ui/explain"), action


async def test_the_brand_form_sets_the_link_pages_privacy_notice(client: TestClient,
                                                                 site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme")).text()
    assert "KVKK aydınlatma metni" in html
    form = {"csrf": csrf_of(html), "name": "ACME", "aliases": "ACME MARKET",
            "privacy_url": "https://acme.example/kvkk"}
    saved = await client.post("/ui/brands/acme", data=form, allow_redirects=False)
    assert saved.status == 303, await saved.text()
    stored = await site.pool.fetchval("SELECT settings -> 'privacy_notice' FROM brand "
                                      "WHERE id = 'acme'")
    assert stored == {"url": "https://acme.example/kvkk"}
    page = await (await client.get("/ui/brands/acme")).text()
    assert 'value="https://acme.example/kvkk"' in page
    # a text instead (its lines one paragraph); a bad address refused next to its field
    form.update(privacy_url="", privacy_text="Verileriniz KVKK'ya göre işlenir.\r\nAyrıntı: "
                "info@acme.example")
    assert (await client.post("/ui/brands/acme", data=form)).status == 200
    assert "Verileriniz KVKK&#x27;ya göre işlenir. Ayrıntı" in await (
        await client.get("/ui/brands/acme")).text()
    form.update(privacy_url="ftp://acme.example/kvkk")
    refused = await client.post("/ui/brands/acme", data=form)
    text = await refused.text()
    assert refused.status == 422 and 'id="err-privacy_url"' in text and "biçimi uygun" in text
    # the service's rules still load with the notice stored (it is a known brand key)
    rules = RuleSet.from_dict(await store.load_rules_dict(site.pool))
    acme = next(b for b in rules.brands if b.id == "acme")
    assert dict(acme.privacy_notice) == {"text": "Verileriniz KVKK'ya göre işlenir. Ayrıntı: "
                                                 "info@acme.example"}

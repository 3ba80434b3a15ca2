"""The pages the features added to the morning page (issue #33 with #29-#32), in headless
Chromium, one browser for the module (one test: a browser start is the slow part): upload a
small CSV and follow its status, add a webhook to a loopback receiver and see its secret
once, the mirror page with a matched day to agree; axe-core (no serious violation) and the
layout check (nothing wider than the window) at 1280 and 390 px on each. Skipped like
``test_browser.py`` without Chromium."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from inbound.api.routes_webhooks import POLICY
from inbound.webhooks.safety import AddressPolicy
from iys_push.timefmt import TR
from tests.imports.files import TR_HEADERS, csv_bytes, recent
from tests.web import test_browser as chromium
from tests.web.conftest import EMAIL_A, PASSWORD_A, Site, make_app
from tests.web.test_browser import DESKTOP, PHONE, check, new_page, sign_in
from tests.web.test_browser_morning import fits

pytestmark = chromium.pytestmark
browser = chromium.browser


@pytest.fixture
async def server(site: Site, aiohttp_client: Any) -> TestClient:
    app = make_app(site.pool)
    app[POLICY] = AddressPolicy(allow_loopback=True)   # the receiver is on this machine
    return await aiohttp_client(app)


@pytest.fixture
async def receiver() -> Any:
    """A CRM's webhook endpoint on loopback (nothing is delivered in this test: the
    endpoint must only be accepted as reachable)."""
    async def accept(_: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", accept)
    async with TestServer(app, host="127.0.0.1") as srv:
        yield srv


async def test_upload_webhooks_and_mirror_pages(browser: Any, server: TestClient,
                                                receiver: TestServer, site: Site) -> None:
    today = datetime.now(UTC).astimezone(TR).date()
    await site.pool.execute(
        "INSERT INTO iys_mirror_status (brand_code, pulled_at, push_registered, reconciled_day)"
        " VALUES (700001, now() - interval '5 minutes', true, $1)", today)
    await site.pool.execute(
        "INSERT INTO iys_reconciliation (brand_code, day, outcome, file_rows, drift_rows, "
        "drift, hash_ok, file_hash) VALUES (700001, $1, 'matched', 12, 0, '[]', true, $2)",
        today, "9f" * 48)
    page = await new_page(browser, server, DESKTOP)
    await sign_in(page, EMAIL_A, PASSWORD_A)

    # upload: from the menu, a small CSV, its status page; cancel what is not sent yet
    await page.get_by_role("navigation").get_by_role("link", name="Toplu yükleme").click()
    await page.wait_for_url("**/brands/acme/imports")
    rows = [("0532 123 45 67", "MESAJ", "ONAY", "HS_ISLAK_IMZA", "", recent()),
            ("0532 123", "MESAJ", "ONAY", "HS_ISLAK_IMZA", "", recent())]
    await page.get_by_label("Dosya").set_input_files(files=[{
        "name": "magaza.csv", "mimeType": "text/csv",
        "buffer": csv_bytes(rows, header=TR_HEADERS, sep=";", bom=True)}])
    await page.get_by_role("button", name="Yükle").click()
    await page.wait_for_url("**/brands/acme/imports/*")
    await page.get_by_text("H121: 1").wait_for()       # the refused row, with İYS's code
    status_url = page.url
    await page.get_by_role("button", name="İptal et").click()
    await page.get_by_text("iptal edildi").first.wait_for()

    # webhooks: an endpoint on the loopback receiver; its secret shown once
    await page.goto("/ui/webhooks")
    await page.get_by_label("Adres (https://)").fill(str(receiver.make_url("/hook")))
    await page.get_by_role("button", name="Kaydet").click()
    secret = page.get_by_role("status").locator("code")
    assert (await secret.inner_text()).startswith("whsec_")
    await page.goto("/ui/webhooks")
    assert "whsec_" not in await page.content()
    assert str(receiver.make_url("/hook")) in await page.content()

    # the mirror: from the menu, the matched day with its agree button
    await page.get_by_role("navigation").get_by_role("link", name="Mutabakat").click()
    await page.wait_for_url("**/brands/acme/mirror")
    await page.get_by_role("button", name="Mutabakatı onayla").wait_for()

    pages = (("imports", "/ui/brands/acme/imports"), ("import", status_url),
             ("webhooks", "/ui/webhooks"), ("mirror", "/ui/brands/acme/mirror"),
             ("overview", "/ui/brands/acme/overview"))
    for viewport in (DESKTOP, PHONE):
        if viewport is PHONE:
            await page.set_viewport_size(PHONE)
        for name, path in pages:
            await page.goto(path)
            await fits(page, f"{name}-{viewport['width']}")
            await check(page, f"features-{name}")

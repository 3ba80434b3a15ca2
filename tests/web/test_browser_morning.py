"""The page as marketing and compliance staff use it every morning (issue #33), in headless
Chromium: the overview, a review item confirmed from it, an API token created and revoked,
one's password changed, the print button under the page's own CSP; every page checked by
axe-core and by a layout check (no element wider than the window) at 1280 and 390 px, with
screenshots in ``tests/artifacts/``. Skipped like ``test_browser.py`` without Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.api.conftest import add_message
from tests.near_miss import NEAR_MISS, add_review
from tests.web import test_browser as chromium
from tests.web.conftest import EMAIL_A, PASSWORD_A, RECIPIENT, Site
from tests.web.test_browser import DESKTOP, PHONE, check, new_page, sign_in

# the same Chromium, server and skip rule as test_browser.py
pytestmark = chromium.pytestmark
browser = chromium.browser
server = chromium.server

PAGES = (("overview", "/ui/brands/acme/overview"), ("brands", "/ui/brands"),
         ("brand", "/ui/brands/acme"), ("events", "/ui/brands/acme/events"),
         ("evidence", f"/ui/brands/acme/recipients/{RECIPIENT}"),
         ("consent", "/ui/brands/acme/consents/new"), ("account", "/ui/account"),
         ("users", "/ui/users"), ("tokens", "/ui/tokens"))

WIDER_THAN_WINDOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      wide.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') +
                ' ' + Math.round(box.right) + 'px');
    }
  }
  return {scroll: document.documentElement.scrollWidth, width: width, wide: wide.slice(0, 8)};
}"""


async def fits(page: Any, name: str) -> None:
    found = await page.evaluate(WIDER_THAN_WINDOW)
    assert not found["wide"] and found["scroll"] <= found["width"], (name, found)


async def _seed(site: Site) -> int:
    now = datetime.now(UTC)
    await add_message(site.pool, sender="+905550000001", text="RET ACME", brand="acme",
                      at=now - timedelta(days=2, hours=14), state="pending",
                      transaction_id=None)
    await add_message(site.pool, sender=RECIPIENT, text="RET ACME", brand="acme",
                      at=now - timedelta(hours=1), transaction_id="a1b2" * 16)
    await add_message(site.pool, sender="+905550000002", text="abonelik bitsin acme",
                      brand=None, to="908505320000", outcome="no_keyword",
                      at=now - timedelta(hours=2))
    return await add_review(site.pool, brand="acme", sender="+905554443322",
                            received_at=now - timedelta(hours=5))


async def test_every_page_fits_and_passes_axe(browser: Any, server: TestClient,
                                              site: Site) -> None:
    await _seed(site)
    for viewport in (DESKTOP, PHONE):
        page = await new_page(browser, server, viewport)
        await sign_in(page, EMAIL_A, PASSWORD_A)
        for name, path in PAGES:
            await page.goto(path)
            await fits(page, f"{name}-{viewport['width']}")
            await check(page, f"morning-{name}")


async def test_the_overview_walk_and_a_review_confirmed_from_it(
        browser: Any, server: TestClient, site: Site) -> None:
    event_id = await _seed(site)
    page = await new_page(browser, server, DESKTOP)
    await sign_in(page, EMAIL_A, PASSWORD_A)
    await page.get_by_role("heading", name="Genel bakış: ACME").wait_for()
    urgent = page.locator("tr.urgent")
    assert "+905550000001" in await urgent.inner_text()
    assert "abonelik bitsin acme" in await page.locator("#unmatched-h + p + div").inner_text()
    row = page.get_by_role("row").filter(has_text=NEAR_MISS)
    await row.get_by_role("button", name=f"RET olarak onayla #{event_id}").click()
    await page.wait_for_url("**/overview?reviewed=confirmed")
    await page.get_by_role("status").filter(has_text="Kaydedildi").wait_for()
    assert await site.pool.fetchval("SELECT state FROM consent_event WHERE id = $1",
                                    event_id) == "pending"
    await check(page, "overview-confirmed")


async def test_a_token_is_created_once_and_revoked(browser: Any, server: TestClient,
                                                   site: Site) -> None:
    page = await new_page(browser, server, DESKTOP)
    await sign_in(page, EMAIL_A, PASSWORD_A)
    await page.get_by_role("link", name="API anahtarları").click()
    await page.get_by_label("Ad").fill("crm")
    await page.get_by_label("Rol").select_option("agent")
    await page.get_by_role("button", name="Yeni API anahtarı").click()
    token = await page.locator("#new-token").inner_text()
    assert token.startswith("iysk_")
    await check(page, "token-created")
    await page.goto("/ui/tokens")
    assert token not in await page.content()
    await page.get_by_role("button", name="İptal et crm").click()
    await page.get_by_role("row").filter(has_text="İptal edildi").wait_for()
    assert await site.pool.fetchval(
        "SELECT revoked_at IS NOT NULL FROM api_token WHERE name = 'crm'")


async def test_the_password_is_changed(browser: Any, server: TestClient) -> None:
    page = await new_page(browser, server, PHONE)
    await sign_in(page, EMAIL_A, PASSWORD_A)
    await page.get_by_role("link", name="Hesabım").click()
    await page.get_by_label("Şu anki parola").fill(PASSWORD_A)
    await page.get_by_label("Yeni parola", exact=True).fill("tarayicida-yeni-1")
    await page.get_by_label("Yeni parola (tekrar)").fill("tarayicida-yeni-1")
    await page.get_by_role("button", name="Parolayı değiştir").click()
    await page.get_by_role("status").filter(has_text="Parolanız değiştirildi").wait_for()
    await check(page, "password-changed")


async def test_print_button_works_under_the_pages_csp(browser: Any, server: TestClient,
                                                      site: Site) -> None:
    await _seed(site)
    # no bypass_csp here: the page's own Content-Security-Policy applies
    context = await browser.new_context(base_url=str(server.make_url("")), viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await sign_in(page, EMAIL_A, PASSWORD_A)
    await page.goto(f"/ui/brands/acme/recipients/{RECIPIENT}")
    button = page.get_by_role("button", name="Yazdır")
    await button.wait_for(state="visible")       # shown by app.js, so the script ran
    await page.emulate_media(media="print")
    assert not await page.locator("header").is_visible()
    assert await page.locator("main").is_visible()
    assert not [e for e in errors if "Content Security Policy" in e], errors

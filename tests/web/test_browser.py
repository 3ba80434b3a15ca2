"""The web page in headless Chromium (Debian's ``chromium``, driven by Playwright; no browser
download): sign in, edit keywords, the explain box as one types, a keyword conflict, the
pending deadline, the evidence page, the CSV export, another owner kept out, and an axe-core
check of every page (no serious or critical violation), at phone and desktop widths.

Skipped when ``/usr/bin/chromium``, the ``playwright`` package or ``tests/web/node_modules``
(``npm ci --prefix tests/web``) is missing. Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.web.conftest import EMAIL_A, EMAIL_B, PASSWORD_A, PASSWORD_B, RECIPIENT, Site, make_app

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parent.parent / "artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None
    or not AXE.exists(),
    reason="needs /usr/bin/chromium, the playwright package and npm ci --prefix tests/web")

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
async def server(site: Site, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(make_app(site.pool))


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM),
                                           args=["--no-sandbox", "--headless", "--disable-gpu"])
        try:
            yield chromium
        finally:
            await chromium.close()


async def new_page(browser: Any, server: TestClient, viewport: dict[str, int]) -> Any:
    # bypass_csp: axe-core is injected as an inline script, which the page's CSP forbids
    context = await browser.new_context(base_url=str(server.make_url("")), viewport=viewport,
                                        bypass_csp=True, accept_downloads=True)
    context.set_default_timeout(10_000)
    return await context.new_page()


async def sign_in(page: Any, email: str, password: str) -> None:
    await page.goto("/ui/login")
    await page.get_by_label("E-posta").fill(email)
    await page.get_by_label("Parola").fill(password)
    await page.get_by_role("button", name="Giriş yap").click()
    await page.wait_for_url("**/overview")  # the landing page (issue #33)


async def check(page: Any, name: str) -> None:
    """Screenshot, then axe-core: no serious or critical violation."""
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    await page.screenshot(path=str(ARTIFACTS / f"web-{name}-{width}.png"), full_page=True)
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"


async def test_owner_journey(browser: Any, server: TestClient) -> None:
    page = await new_page(browser, server, DESKTOP)
    await page.goto("/ui/login")
    await check(page, "login")
    await sign_in(page, EMAIL_A, PASSWORD_A)
    await page.goto("/ui/brands")
    await check(page, "brands")

    # add an alias and see the explain box use it, as one types
    # (the brands list, not the mirror section below it, which links ACME too)
    await page.get_by_role("listitem").get_by_role("link", name="ACME", exact=True).click()
    await page.get_by_label("Diğer adlar").fill("ACME MARKET\nACMECIM")
    await page.get_by_role("button", name="Kaydet").click()
    await page.get_by_role("status").filter(has_text="Kaydedildi").wait_for()
    await page.get_by_label("Numara").select_option("4609")
    await page.get_by_label("Metin").press_sequentially("ret acmecim", delay=20)
    await page.locator('#explain-out [data-outcome="consent"]').wait_for()
    assert "RET · acme" in await page.locator("#explain-out").inner_text()
    await check(page, "brand")

    # a conflicting alias: refused, the error next to the field, the other owner unnamed
    await page.get_by_label("Diğer adlar").fill("ACME MARKET\nKUZEY")
    await page.get_by_role("button", name="Kaydet").click()
    error = page.locator("#err-aliases")
    await error.wait_for()
    assert "başka bir markada kullanılıyor" in await error.inner_text()
    assert await page.get_by_label("Diğer adlar").get_attribute("aria-invalid") == "true"
    assert "Kuzey Kahve Ltd." not in await page.content()
    await check(page, "brand-conflict")

    # the events, with the pending RET's time left, and the chart
    await page.goto("/ui/brands/acme/events")
    row = page.get_by_role("row").filter(has_text="+905551112233")
    assert "kalan" in await row.inner_text()
    assert await page.locator("figure svg rect").count() >= 1
    await check(page, "events")

    # CSV of the current filter
    await page.get_by_label("İYS durumu").select_option("pending")
    await page.get_by_role("button", name="Filtrele").click()
    await page.wait_for_url("**state=pending**")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Excel için CSV indir (bu filtre)").click()
    download = await info.value
    raw = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert raw.startswith("\ufeff".encode())  # Excel reads it as UTF-8 (issue #33)
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";")
    assert [r["recipient"] for r in rows] == ["+905551112233"]

    # the evidence page of a recipient
    await page.goto("/ui/brands/acme/events")
    await page.get_by_role("link", name=RECIPIENT).click()
    await page.get_by_role("heading", name=f"Kanıt: {RECIPIENT}").wait_for()
    body = await page.locator("main").inner_text()
    assert "tx-1" in body and "RET ACME" in body and "deliver_sm" in body
    await check(page, "evidence")

    # English
    await page.get_by_role("link", name="English").click()
    await page.get_by_role("heading", name=f"Evidence: {RECIPIENT}").wait_for()
    await check(page, "evidence-en")


async def test_phone_width_and_no_javascript(browser: Any, server: TestClient) -> None:
    page = await new_page(browser, server, PHONE)
    await sign_in(page, EMAIL_A, PASSWORD_A)
    for name, path in (("brands", "/ui/brands"), ("brand", "/ui/brands/acme"),
                       ("events", "/ui/brands/acme/events"),
                       ("evidence", f"/ui/brands/acme/recipients/{RECIPIENT}")):
        await page.goto(path)
        # nothing wider than the screen but the tables, which scroll in their own box
        overflow = await page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= PHONE["width"], f"{path}: {overflow}px wide"
        await check(page, f"phone-{name}")
    context = await browser.new_context(base_url=str(server.make_url("")),
                                        java_script_enabled=False)
    plain = await context.new_page()
    await sign_in(plain, EMAIL_A, PASSWORD_A)
    await plain.goto("/ui/brands/acme/events")
    assert "+905551112233" in await plain.locator("main").inner_text()
    await plain.goto("/ui/brands/acme")
    await plain.get_by_label("Numara").select_option("908505320000")
    await plain.get_by_label("Metin").fill("ret")
    await plain.get_by_role("button", name="Dene").click()
    await plain.locator('[data-outcome="consent"]').wait_for()


async def test_another_owner_cannot_reach_the_first_owners_pages(browser: Any,
                                                                  server: TestClient) -> None:
    page = await new_page(browser, server, DESKTOP)
    await sign_in(page, EMAIL_B, PASSWORD_B)
    assert "ACME" not in await page.locator("main").inner_text()
    for path in ("/ui/brands/acme", "/ui/brands/acme/events",
                 f"/ui/brands/acme/recipients/{RECIPIENT}"):
        response = await page.goto(path)
        assert response.status == 404, path
        assert RECIPIENT not in await page.content()
    await check(page, "not-found")


async def test_a_review_item_is_confirmed_in_the_browser(browser: Any, server: TestClient,
                                                         site: Site) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.near_miss import NEAR_MISS, add_review

    event_id = await add_review(site.pool, sender="+905554443322",
                                received_at=datetime.now(UTC) - timedelta(hours=5))
    for viewport, name in ((PHONE, "phone-reviews"), (DESKTOP, "reviews")):
        page = await new_page(browser, server, viewport)
        await sign_in(page, EMAIL_A, PASSWORD_A)
        await page.goto("/ui/brands/acme/events")
        row = page.get_by_role("row").filter(has_text=NEAR_MISS)
        assert "kalan" in await row.inner_text()
        overflow = await page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= viewport["width"], f"{overflow}px wide"
        await check(page, name)
    await row.get_by_role("button", name=f"RET olarak onayla #{event_id}").click()
    await page.get_by_role("status").filter(has_text="Kaydedildi").wait_for()
    assert await site.pool.fetchval("SELECT state FROM consent_event WHERE id = $1",
                                    event_id) == "pending"
    await check(page, "reviews-done")

"""The consent link's page in headless Chromium at a phone's width (issue #30): one tap
opts out, without JavaScript; the English switch; a second tap shows the first result; an
axe-core check of each page. Skipped as tests/web/test_browser.py is."""

from __future__ import annotations

from typing import Any

from tests.links.conftest import Links
from tests.web.test_browser import PHONE, browser, check, pytestmark

__all__ = ["browser", "pytestmark"]


async def phone(browser: Any, links: Links, *, javascript: bool = True) -> Any:
    context = await browser.new_context(base_url=str(links.client.make_url("")),
                                        viewport=PHONE, bypass_csp=True,
                                        java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    return await context.new_page()


async def test_a_personal_link_opts_out_with_one_tap_on_a_phone(browser: Any,
                                                                 links: Links) -> None:
    made = await links.mint()
    page = await phone(browser, links)
    await page.goto(f"/r/{made['code']}")
    await page.get_by_role("heading", name="İleti tercihiniz").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert "+90532*****67" in await page.locator("main").inner_text()
    await check(page, "link")
    await page.get_by_role("link", name="English").click()
    await page.get_by_role("button", name="Stop these messages").wait_for()
    await check(page, "link-en")
    assert await links.pool.fetchval("SELECT count(*) FROM consent_event") == 0

    # the tap itself, with JavaScript off: a plain form post
    plain = await phone(browser, links, javascript=False)
    await plain.goto(f"/r/{made['code']}")
    await plain.get_by_role("button", name="İleti almak istemiyorum").click()
    await plain.get_by_role("heading", name="Tercihiniz kaydedildi").wait_for()
    assert "ACME size SMS yoluyla ticari ileti göndermeyecek" in await plain.locator(
        "main").inner_text()
    [row] = await links.pool.fetch("SELECT status, source FROM consent_event")
    assert (row["status"], row["source"]) == ("RET", "HS_WEB")

    # the first page's button pressed again: the first result, nothing new
    await page.get_by_role("button", name="Stop these messages").click()
    await page.get_by_role("heading", name="Your choice was already recorded").wait_for()
    await check(page, "link-again")
    assert await links.pool.fetchval("SELECT count(*) FROM consent_event") == 1


async def test_a_guessed_code_gets_the_no_longer_valid_page(browser: Any,
                                                            links: Links) -> None:
    page = await phone(browser, links)
    response = await page.goto("/r/AAAAAAAAAAA")
    assert response.status == 404
    await page.get_by_role("heading", name="Bu bağlantı artık geçerli değil").wait_for()
    await check(page, "link-invalid")


async def test_a_brand_wide_link_asks_the_number_and_the_code(browser: Any, pool: Any,
                                                              aiohttp_client: Any) -> None:
    import re

    from tests.links.conftest import make_links
    from tests.links.test_link_otp import SETTINGS

    links = await make_links(pool, aiohttp_client, SETTINGS)
    made = await links.mint(recipient=None)
    page = await phone(browser, links)
    await page.goto(f"/r/{made['code']}")
    await page.get_by_label("Cep telefonu numaranız").fill("0532 123 45 67")
    await check(page, "link-number")
    await page.get_by_role("button", name="Kodu gönder").click()
    await page.get_by_label("Doğrulama kodu").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await check(page, "link-code")
    text = await links.pool.fetchval("SELECT text FROM sms_out WHERE kind = 'otp'")
    await page.get_by_label("Doğrulama kodu").fill(re.search(r"[0-9]{6}", text).group(0))
    await page.get_by_role("button", name="İleti almak istemiyorum").click()
    await page.get_by_role("heading", name="Tercihiniz kaydedildi").wait_for()
    await check(page, "link-wide-done")
    assert await links.pool.fetchval("SELECT recipient FROM consent_event") == "+905321234567"

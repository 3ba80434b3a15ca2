"""The mirror page's agree button and automatic-agreement switch (issue #33 with #29): an
admin agrees a matched day through the API's own reconciliation (İYS's sandbox answers),
audited with the user; a viewer sees no button and is refused a forged POST."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from inbound.api import setup_api
from inbound.web import setup_web
from iys_push.sandbox import SandboxConfig
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.timefmt import TR
from tests.api.conftest import ADMIN_TOKEN
from tests.iys_push.conftest import settings
from tests.web.conftest import SECRET, Site, csrf_of, sign_in
from tests.web.test_accounts import _invite

URL = "/ui/brands/acme/mirror"


@pytest.fixture
async def sandboxed(site: Site, aiohttp_client: Any) -> AsyncIterator[
        tuple[TestClient, SandboxServer]]:
    async with SandboxServer(SandboxConfig()) as sb:
        app = web.Application()
        setup_api(app, site.pool, admin_token=ADMIN_TOKEN, iys_settings=settings(sb))
        setup_web(app, site.pool, secret=SECRET)
        yield await aiohttp_client(app), sb


async def test_an_admin_agrees_a_matched_day_and_switches_automatic_agreement(
        sandboxed: tuple[TestClient, SandboxServer], site: Site) -> None:
    client, sb = sandboxed
    await seed_consent(sb, brand_code=700001, recipient="+905321234567")
    today = sb.clock.now().astimezone(TR).date()
    await site.pool.execute(   # last night's run found the day matched, not agreed
        "INSERT INTO iys_reconciliation (brand_code, day, outcome, file_rows, drift_rows, "
        "drift, hash_ok) VALUES (700001, $1, 'matched', 1, 0, '[]', true)", today)
    await sign_in(client)
    html = await (await client.get(URL)).text()
    assert "Mutabakatı onayla" in html and f'value="{today.isoformat()}"' in html
    agreed = await client.post(URL + "/agree", allow_redirects=False, data={
        "csrf": csrf_of(html), "date": today.isoformat()})
    assert agreed.status == 303, await agreed.text()
    after = await (await client.get(agreed.headers["Location"])).text()
    assert "mutabakat İYS&#x27;ye kaydedildi" in after and "Mutabakatı onayla" not in after
    assert await site.pool.fetchval("SELECT agreed_at FROM iys_reconciliation") is not None
    audit = await site.pool.fetchrow(
        "SELECT action, resource_id, actor_user_id FROM config_audit "
        "WHERE resource = 'reconciliation'")
    assert (audit["action"], audit["resource_id"]) == ("agree", f"acme/{today.isoformat()}")
    assert audit["actor_user_id"] is not None
    # a day İYS no longer keeps is refused with the reason, in Turkish
    old = await client.post(URL + "/agree", data={"csrf": csrf_of(html), "date": "2020-01-01"})
    assert old.status == 422 and "gün saklar" in await old.text()
    switched = await client.post(URL + "/auto-agree", data={"csrf": csrf_of(html), "on": "1"})
    assert switched.status == 200 and "Otomatik onayı kapat" in await switched.text()
    assert await site.pool.fetchval("SELECT reconcile_auto_agree FROM brand WHERE id = 'acme'")


async def test_a_viewer_sees_no_button_and_a_forged_post_is_refused(
        sandboxed: tuple[TestClient, SandboxServer], site: Site) -> None:
    client, _ = sandboxed
    await site.pool.execute(
        "INSERT INTO iys_reconciliation (brand_code, day, outcome, file_rows, drift_rows, "
        "drift, hash_ok) VALUES (700001, current_date, 'matched', 1, 0, '[]', true)")
    await sign_in(client)
    password = await _invite(client, "izleyici@acme.example", "viewer")
    client.session.cookie_jar.clear()
    await sign_in(client, "izleyici@acme.example", password)
    html = await (await client.get(URL)).text()
    assert "Mutabakatı onayla" not in html and "Otomatik onayı" not in html
    forged = await client.post(URL + "/agree", data={"csrf": csrf_of(html), "date": "x"})
    assert forged.status == 403
    assert await site.pool.fetchval("SELECT agreed_at FROM iys_reconciliation") is None

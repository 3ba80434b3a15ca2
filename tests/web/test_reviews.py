"""The review queue on the events page: the owner sees its near misses and confirms or
dismisses one with a CSRF-protected form that goes through the API's handler (issue #24)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from tests.near_miss import NEAR_MISS, add_review
from tests.web.conftest import EMAIL_B, PASSWORD_B, Site, csrf_of, sign_in

NEAR_MISS_SENDER = "+905554443322"


async def _user(site: Site) -> int:
    """Owner A's admin user: decisions made on the page name the person (issue #33)."""
    return int(await site.pool.fetchval("SELECT id FROM web_user WHERE owner_id = $1",
                                        site.owner_a))


async def _item(site: Site, brand: str = "acme") -> int:
    return await add_review(site.pool, brand=brand, sender=NEAR_MISS_SENDER,
                            received_at=datetime.now(UTC) - timedelta(hours=5))


async def test_the_owner_confirms_a_review_item_from_the_events_page(
        client: TestClient, site: Site) -> None:
    event_id = await _item(site)
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/events")).text()
    section = html[html.index('id="reviews-h"'):]
    section = section[:section.index("</section>")]
    assert "İnceleme bekleyenler (1)" in section
    assert NEAR_MISS in section and NEAR_MISS_SENDER in section and "kalan" in section
    action = f"/ui/brands/acme/reviews/{event_id}/confirm"
    assert f'action="{action}"' in section and "RET olarak onayla" in section
    response = await client.post(action, data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/ui/brands/acme/events?reviewed=confirmed"
    row = await site.pool.fetchrow("SELECT * FROM consent_event WHERE id = $1", event_id)
    assert (row["state"], row["review_decision"], row["reviewed_by"]) == (
        "pending", "confirmed", f"user:{await _user(site)}")
    assert row["consent_date"] == row["received_at"]
    audit = await site.pool.fetchrow("SELECT * FROM config_audit WHERE resource = 'review'")
    assert (audit["action"], audit["actor_owner_id"], audit["resource_id"]) == (
        "confirm", site.owner_a, str(event_id))
    after = await (await client.get(response.headers["Location"])).text()
    assert 'role="status"' in after and "İnceleme bekleyen mesaj yok." in after
    assert re.search(rf"\"ID\">{event_id}</td>.*?gönderilecek · onaylandı", after, re.S)
    # the same form again (a double click, a second tab): refused with a clear message
    again = await client.post(action, data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert again.status == 409
    assert "zaten karara bağlanmış: onaylandı" in await again.text()  # issue #33: in Turkish


async def test_dismiss_needs_the_csrf_token_and_the_owner(client: TestClient,
                                                          site: Site) -> None:
    event_id = await _item(site)
    await sign_in(client)
    action = f"/ui/brands/acme/reviews/{event_id}/dismiss"
    assert (await client.post(action, data={"csrf": "forged"})).status == 403
    html = await (await client.get("/ui/brands/acme/events")).text()
    response = await client.post(action, data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert response.status == 303
    assert await site.pool.fetchval("SELECT state FROM consent_event WHERE id = $1",
                                    event_id) == "dismissed"


async def test_another_owner_cannot_decide_the_first_owners_item(client: TestClient,
                                                                 site: Site) -> None:
    event_id = await _item(site)
    await sign_in(client, EMAIL_B, PASSWORD_B)
    html = await (await client.get("/ui/brands/kuzey/events")).text()
    assert NEAR_MISS not in html
    for brand in ("acme", "kuzey"):
        response = await client.post(f"/ui/brands/{brand}/reviews/{event_id}/confirm",
                                     data={"csrf": csrf_of(html)})
        assert response.status == 404, brand
    assert await site.pool.fetchval("SELECT state FROM consent_event WHERE id = $1",
                                    event_id) == "review"


async def test_an_automatic_ret_is_shown_as_such(client: TestClient, site: Site) -> None:
    event_id = await _item(site)
    await site.pool.execute(
        """UPDATE consent_event SET state = 'pending', review_decision = 'automatic',
                  reviewed_by = 'system', reviewed_at = now() WHERE id = $1""", event_id)
    await client.get("/ui/lang?to=en")
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/events")).text()
    assert re.search(rf"\"ID\">{event_id}</td>.*?pending · automatic RET", html, re.S)


async def test_the_evidence_page_shows_who_decided_and_when(client: TestClient,
                                                            site: Site) -> None:
    event_id = await _item(site)
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/events")).text()
    await client.post(f"/ui/brands/acme/reviews/{event_id}/dismiss",
                      data={"csrf": csrf_of(html)})
    page = await (await client.get(f"/ui/brands/acme/recipients/{NEAR_MISS_SENDER}")).text()
    assert f"reddedildi · user:{await _user(site)} · " in page
    assert "inceleme gerekiyor" in page  # the message's outcome (needs_review)

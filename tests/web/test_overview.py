"""The overview, the page one lands on after signing in (issue #33): totals, pending RETs
nearest first and red under 24 h, failed events, the review queue with its buttons, İYS
health, unmatched messages that concern this brand only, and the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from inbound.web.pages_overview import names_brand
from tests.api.conftest import add_message
from tests.near_miss import add_review
from tests.web.conftest import EMAIL_B, PASSWORD_B, Site, csrf_of, sign_in

URGENT_SENDER = "+905550000001"


async def _seed(site: Site) -> int:
    now = datetime.now(UTC)
    # a RET received 2 days 14 hours ago: its 3-day deadline is 10 hours away
    await add_message(site.pool, sender=URGENT_SENDER, text="RET ACME", brand="acme",
                      at=now - timedelta(days=2, hours=14), state="pending",
                      transaction_id=None)
    await add_message(site.pool, sender="+905550000002", text="RET ACME", brand="acme",
                      at=now - timedelta(hours=3), state="failed", transaction_id=None)
    await add_message(site.pool, sender="+905550000003", text="IZIN ACME", brand="acme",
                      status="ONAY", at=now - timedelta(hours=1))
    # unmatched: on acme's own number; on the shared number naming acme, kuzey, nobody
    for sender, text, to in (("+905550000004", "abonelik bitsin", "908505320000"),
                             ("+905550000005", "acme kampanya ne zaman", "4609"),
                             ("+905550000006", "kuzey kampanya ne zaman", "4609"),
                             ("+905550000007", "merhaba kampanya", "4609")):
        await add_message(site.pool, sender=sender, text=text, brand=None, to=to,
                          outcome="no_keyword", at=now - timedelta(hours=2))
    return await add_review(site.pool, brand="acme", sender="+905550000008",
                            received_at=now - timedelta(hours=5))


async def test_sign_in_lands_on_the_overview(client: TestClient, site: Site) -> None:
    await _seed(site)
    status, html = await sign_in(client)
    assert status == 200
    assert "<h1>Genel bakış: ACME</h1>" in html


async def test_the_overview_shows_what_needs_a_person(client: TestClient, site: Site) -> None:
    review_id = await _seed(site)
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/overview")).text()
    # totals: ONAY and RET today / 7 / 30 days by channel and source
    assert "İzin ve retler" in html and "ONAY: Bugün 1" in html
    # pending RETs nearest first; the one with 10 hours left is red
    pending = html[html.index('id="pending-h"'):]
    pending = pending[:pending.index("</section>")]
    assert pending.index(URGENT_SENDER) < pending.index("+905551112233")
    assert pending.count('class="urgent"') == 1
    assert pending.index('class="urgent"') < pending.index(URGENT_SENDER)
    # failed events and İYS health
    assert "+905550000002" in html[html.index('id="failed-h"'):]
    health = html[html.index('id="health-h"'):]
    assert "Son başarılı gönderim" in health and "kabul" in health
    # the review item with its two buttons, returning to the overview
    assert f'/ui/brands/acme/reviews/{review_id}/confirm' in html
    assert 'name="back" value="overview"' in html
    # unmatched: acme's own number and the shared message naming acme; never kuzey's or
    # a brandless one
    unmatched = html[html.index('id="unmatched-h"'):]
    unmatched = unmatched[:unmatched.index("</section>")]
    assert "abonelik bitsin" in unmatched and "acme kampanya ne zaman" in unmatched
    assert "kuzey kampanya" not in unmatched and "merhaba kampanya" not in unmatched
    assert "<svg" in html and "Günlük izin ve retler" in html


async def test_confirming_from_the_overview_returns_to_it(client: TestClient,
                                                          site: Site) -> None:
    review_id = await _seed(site)
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/overview")).text()
    response = await client.post(f"/ui/brands/acme/reviews/{review_id}/confirm",
                                 data={"csrf": csrf_of(html), "back": "overview"},
                                 allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/ui/brands/acme/overview?reviewed=confirmed"
    state = await site.pool.fetchval("SELECT state FROM consent_event WHERE id = $1",
                                     review_id)
    assert state == "pending"


async def test_another_owner_sees_neither_the_overview_nor_acmes_messages(
        client: TestClient, site: Site) -> None:
    await _seed(site)
    await sign_in(client, EMAIL_B, PASSWORD_B)
    assert (await client.get("/ui/brands/acme/overview")).status == 404
    html = await (await client.get("/ui/brands/kuzey/overview")).text()
    assert "kuzey kampanya ne zaman" in html and "acme kampanya" not in html
    assert "abonelik bitsin" not in html


def test_a_brand_is_named_by_whole_words_only() -> None:
    assert names_brand("ret acme lutfen", ["acme"])
    assert not names_brand("ret acmex", ["acme"])
    assert names_brand("kuzey kahve iptal", ["kuzey kahve"])

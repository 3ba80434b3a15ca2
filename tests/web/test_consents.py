"""The "record a consent" form for call-centre staff and the consent state on the evidence
page (issue #28): the API's checks and ledger, through a CSRF-protected form."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp.test_utils import TestClient

from iys_push.timefmt import TR
from tests.web.conftest import EMAIL_B, PASSWORD_B, Site, csrf_of, sign_in


def typed(**delta: float) -> str:
    """What a person types into the datetime-local field: Turkish wall-clock time."""
    return (datetime.now(TR) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S")


async def test_staff_record_a_call_centre_onay_and_see_it_on_the_evidence_page(
        client: TestClient, site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/consents/new")).text()
    assert "İzin kaydet" in html and 'name="consent_date"' in html
    assert "HS_CAGRI_MERKEZI" in html and 'value="EPOSTA"' in html
    when = typed(minutes=-4)
    response = await client.post("/ui/brands/acme/consents", data=[
        ("csrf", csrf_of(html)), ("recipient", "0532 765 43 21"), ("type", "MESAJ"),
        ("type", "ARAMA"), ("status", "ONAY"), ("source", "HS_CAGRI_MERKEZI"),
        ("consent_date", when), ("note", "müşteri telefonda onay verdi")],
        allow_redirects=False)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/ui/brands/acme/recipients/%2B905327654321" \
                                           "?recorded=1"
    rows = await site.pool.fetch(
        "SELECT e.type, e.consent_date, s.via, s.actor, s.evidence FROM consent_event e "
        "JOIN consent_submission s ON s.id = e.submission_id ORDER BY e.id")
    assert [r["type"] for r in rows] == ["MESAJ", "ARAMA"]
    assert rows[0]["consent_date"] == datetime.fromisoformat(when).replace(tzinfo=TR)
    assert (rows[0]["via"], rows[0]["actor"]) == ("web", f"owner:{site.owner_a}")
    page = await (await client.get(response.headers["Location"])).text()
    assert "Kaydedildi; İYS&#x27;ye gönderilecek." in page
    assert "İzin durumu" in page and "Bekleyen" in page
    assert "müşteri telefonda onay verdi" in page and "0532 765 43 21" in page


async def test_a_refusal_keeps_what_was_typed_and_names_the_field(client: TestClient,
                                                                 site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/consents/new")).text()
    response = await client.post("/ui/brands/acme/consents", data=[
        ("csrf", csrf_of(html)), ("recipient", "0212 123 45 67"), ("type", "MESAJ"),
        ("status", "ONAY"), ("source", "HS_WEB"), ("consent_date", typed(days=-9))])
    assert response.status == 422
    page = await response.text()
    assert 'id="e-recipient"' in page and "(H121)" in page
    assert 'id="e-consent_date"' in page and "(H467)" in page
    assert 'value="0212 123 45 67"' in page
    assert await site.pool.fetchval("SELECT count(*) FROM consent_submission") == 0


async def test_the_form_needs_the_csrf_token_and_the_brand_of_the_owner(
        client: TestClient, site: Site) -> None:
    await sign_in(client)
    form = {"recipient": "0532 765 43 21", "type": "MESAJ", "status": "ONAY",
            "source": "HS_WEB", "consent_date": typed(minutes=-1)}
    assert (await client.post("/ui/brands/acme/consents", data=form)).status == 403
    await client.post("/ui/logout", data={"csrf": csrf_of(await (await client.get(
        "/ui/brands")).text())})
    await sign_in(client, EMAIL_B, PASSWORD_B)
    assert (await client.get("/ui/brands/acme/consents/new")).status == 404
    token = csrf_of(await (await client.get("/ui/brands")).text())
    response = await client.post("/ui/brands/acme/consents", data={**form, "csrf": token})
    assert response.status == 404
    assert await site.pool.fetchval("SELECT count(*) FROM consent_submission") == 0


async def test_in_english_the_labels_are_english(client: TestClient, site: Site) -> None:
    await sign_in(client)
    await client.get("/ui/lang?to=en&next=/ui/brands")
    html = await (await client.get("/ui/brands/acme/consents/new")).text()
    assert "Record a consent" in html and "When the person gave it" in html

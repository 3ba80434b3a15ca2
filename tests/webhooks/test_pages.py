"""The Webhooks section of the web page (Turkish first): add an endpoint (the secret shown
once), a refused private address shown with its reason, the delivery log, another owner's
endpoint invisible, resume and delete."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.web.conftest import EMAIL_B, PASSWORD_B, Site, client, csrf_of, sign_in, site  # noqa: F401


async def test_the_owner_adds_sees_and_deletes_a_webhook(client: TestClient,  # noqa: F811
                                                         site: Site) -> None:  # noqa: F811
    await sign_in(client)
    html = await (await client.get("/ui/webhooks")).text()
    assert "Webhook&#x27;lar" in html and "Henüz webhook yok." in html
    refused = await client.post("/ui/webhooks", data={
        "csrf": csrf_of(html), "url": "https://10.0.0.5/hook", "events": "consent.received"})
    assert refused.status == 422
    refused_text = await refused.text()
    assert "private" in refused_text, refused_text[refused_text.find("class=\"err\""):][:300]
    created = await client.post("/ui/webhooks", data={
        "csrf": csrf_of(html), "url": "https://crm.acme.example/hook",
        "events": ["consent.received", "consent.settled"], "brands": "acme",
        "recipient": "full"})
    text = await created.text()
    assert created.status == 201 and "whsec_" in text and "yalnızca şimdi" in text
    wid = await site.pool.fetchval("SELECT id FROM webhook_endpoint")
    listing = await (await client.get("/ui/webhooks")).text()
    assert "crm.acme.example" in listing and "whsec_" not in listing
    log = await client.get(f"/ui/webhooks/{wid}")
    assert log.status == 200 and "Henüz gönderim yok." in await log.text()
    await site.pool.execute("UPDATE webhook_endpoint SET paused_at = now()")
    paused = await (await client.get("/ui/webhooks")).text()
    assert "DURDURULDU" in paused and f'/ui/webhooks/{wid}/resume' in paused
    resumed = await client.post(f"/ui/webhooks/{wid}/resume", data={"csrf": csrf_of(paused)},
                                allow_redirects=False)
    assert resumed.status == 303
    assert await site.pool.fetchval("SELECT paused_at FROM webhook_endpoint") is None

    other = await sign_in_as_b(client)
    assert "crm.acme.example" not in other
    assert (await client.get(f"/ui/webhooks/{wid}")).status == 404
    assert (await client.post(f"/ui/webhooks/{wid}/delete",
                              data={"csrf": csrf_of(other)})).status == 404
    assert await site.pool.fetchval("SELECT count(*) FROM webhook_endpoint") == 1


async def sign_in_as_b(client: TestClient) -> str:  # noqa: F811
    client.session.cookie_jar.clear()
    await sign_in(client, EMAIL_B, PASSWORD_B)
    return await (await client.get("/ui/webhooks")).text()


async def test_the_owner_subscribes_an_address_to_e_mail_notices(
        client: TestClient, site: Site) -> None:  # noqa: F811
    await sign_in(client)
    html = await (await client.get("/ui/webhooks")).text()
    assert "E-posta bildirimleri" in html
    bad = await client.post("/ui/notices", data={"csrf": csrf_of(html), "email": "yok"},
                            allow_redirects=False)
    assert bad.status == 303
    assert "Geçerli bir e-posta" in await (await client.get(bad.headers["Location"])).text()
    done = await client.post("/ui/notices", data={
        "csrf": csrf_of(html), "email": "uyum@acme.example", "digest": "1",
        "immediate": ["failed", "review"]}, allow_redirects=False)
    assert done.status == 303
    row = await site.pool.fetchrow("SELECT * FROM notice_subscription")
    assert (row["owner_id"], row["email"], row["digest"], sorted(row["immediate"])) == (
        site.owner_a, "uyum@acme.example", True, ["failed", "review"])
    page = await (await client.get("/ui/webhooks")).text()
    assert "uyum@acme.example" in page
    other = await sign_in_as_b(client)
    assert "uyum@acme.example" not in other
    # B cannot remove A's address (scoped to the session's owner)
    await client.post("/ui/notices/remove", data={"csrf": csrf_of(other),
                                                  "email": "uyum@acme.example"})
    assert await site.pool.fetchval("SELECT count(*) FROM notice_subscription") == 1

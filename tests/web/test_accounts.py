"""Accounts and roles (issue #33): one's own password, an owner's users and API tokens,
roles enforced on the page and on the API, every change audited with the user."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from inbound.api import admin
from tests.api.conftest import ADMIN_TOKEN
from tests.near_miss import add_review
from tests.web.conftest import EMAIL_A, PASSWORD_A, Site, csrf_of, sign_in

NEW_PASSWORD = "yepyeni-parola-789"


async def _user_id(site: Site, email: str) -> int:
    return int(await site.pool.fetchval("SELECT id FROM web_user WHERE lower(email) = $1",
                                        email.lower()))


async def _invite(client: TestClient, email: str, role: str) -> str:
    """Invite a user as the signed-in admin; returns the one-time password shown."""
    html = await (await client.get("/ui/users")).text()
    response = await client.post("/ui/users", data={"csrf": csrf_of(html), "email": email,
                                                    "name": "Zeynep", "role": role})
    assert response.status == 201, await response.text()
    found = re.search(r'<code id="one-time">([^<]+)</code>', await response.text())
    assert found
    return found.group(1)


async def test_everyone_changes_their_own_password(client: TestClient, site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/account")).text()
    wrong = await client.post("/ui/account/password", data={
        "csrf": csrf_of(html), "current": "not-my-password", "new": NEW_PASSWORD,
        "again": NEW_PASSWORD})
    assert wrong.status == 422 and "Şu anki parola hatalı." in await wrong.text()
    response = await client.post("/ui/account/password", allow_redirects=False, data={
        "csrf": csrf_of(html), "current": PASSWORD_A, "new": NEW_PASSWORD,
        "again": NEW_PASSWORD})
    assert response.status == 303
    await client.post("/ui/logout", data={"csrf": csrf_of(html)})
    assert (await sign_in(client, EMAIL_A, PASSWORD_A))[1].count("E-posta veya parola") == 1
    status, html = await sign_in(client, EMAIL_A, NEW_PASSWORD)
    assert status == 200 and "Genel bakış" in html
    audit = await site.pool.fetchrow(
        "SELECT actor_user_id, actor_via, resource, after FROM config_audit "
        "WHERE resource = 'user' ORDER BY id DESC LIMIT 1")
    assert audit["actor_user_id"] == await _user_id(site, EMAIL_A)
    assert audit["actor_via"] == "web"
    assert "password" in audit["after"] and NEW_PASSWORD not in audit["after"]


async def test_admin_invites_a_viewer_who_can_read_but_not_write(
        client: TestClient, site: Site, aiohttp_client: Any) -> None:
    await sign_in(client)
    password = await _invite(client, "zeynep@acme.example", "viewer")
    review_id = await add_review(site.pool, brand="acme", sender="+905550000009",
                                 received_at=datetime.now(UTC))
    other = await aiohttp_client(client.server.app)
    status, html = await sign_in(other, "zeynep@acme.example", password)
    assert status == 200 and "Genel bakış" in html
    assert "/ui/users" not in html and "/ui/tokens" not in html  # not in a viewer's menu
    assert (await other.get("/ui/users")).status == 403
    assert (await other.get("/ui/brands/acme/events")).status == 200
    refused = await other.post(f"/ui/brands/acme/reviews/{review_id}/confirm",
                               data={"csrf": csrf_of(html)})
    assert refused.status == 403
    assert "bu işlem için temsilci rolü gerekir" in await refused.text()
    brand = await other.post("/ui/brands/acme", data={"csrf": csrf_of(html), "name": "X"})
    assert brand.status == 403
    assert await site.pool.fetchval("SELECT state FROM consent_event WHERE id = $1",
                                    review_id) == "review"


async def test_an_agent_decides_reviews_and_is_named(client: TestClient, site: Site,
                                                     aiohttp_client: Any) -> None:
    await sign_in(client)
    password = await _invite(client, "ali@acme.example", "agent")
    review_id = await add_review(site.pool, brand="acme", sender="+905550000010",
                                 received_at=datetime.now(UTC))
    agent = await aiohttp_client(client.server.app)
    _, html = await sign_in(agent, "ali@acme.example", password)
    response = await agent.post(f"/ui/brands/acme/reviews/{review_id}/dismiss",
                                data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert response.status == 303
    ali = await _user_id(site, "ali@acme.example")
    assert await site.pool.fetchval("SELECT reviewed_by FROM consent_event WHERE id = $1",
                                    review_id) == f"user:{ali}"
    assert await site.pool.fetchval(
        "SELECT actor_user_id FROM config_audit WHERE resource = 'review' "
        "ORDER BY id DESC LIMIT 1") == ali
    # an agent is not an admin
    assert (await agent.post("/ui/brands/acme", data={"csrf": csrf_of(html),
                                                      "name": "X"})).status == 403


async def test_admin_removes_a_user_but_not_itself(client: TestClient, site: Site) -> None:
    await sign_in(client)
    await _invite(client, "gecici@acme.example", "viewer")
    user = await _user_id(site, "gecici@acme.example")
    html = await (await client.get("/ui/users")).text()
    assert f"/ui/users/{user}/remove" in html
    me = await _user_id(site, EMAIL_A)
    assert f"/ui/users/{me}/remove" not in html
    assert (await client.post(f"/ui/users/{me}/remove",
                              data={"csrf": csrf_of(html)})).status == 409
    response = await client.post(f"/ui/users/{user}/remove", data={"csrf": csrf_of(html)},
                                 allow_redirects=False)
    assert response.status == 303
    assert await site.pool.fetchval("SELECT count(*) FROM web_user WHERE id = $1", user) == 0
    assert await site.pool.fetchval(
        "SELECT count(*) FROM config_audit WHERE resource = 'user' AND action = 'delete' "
        "AND actor_user_id = $1", me) == 1


async def test_another_owners_user_cannot_be_removed(client: TestClient, site: Site) -> None:
    await sign_in(client)
    kuzey = await _user_id(site, "b@kuzey.example")
    html = await (await client.get("/ui/users")).text()
    response = await client.post(f"/ui/users/{kuzey}/remove", data={"csrf": csrf_of(html)})
    assert response.status == 404


async def test_tokens_are_shown_once_carry_a_role_and_are_revoked(client: TestClient,
                                                                  site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/tokens")).text()
    response = await client.post("/ui/tokens", data={"csrf": csrf_of(html), "name": "crm",
                                                     "role": "viewer"})
    assert response.status == 201
    text = await response.text()
    shown = re.search(r'<code id="new-token">(iysk_[^<]+)</code>', text)
    assert shown
    token = shown.group(1)
    again = await (await client.get("/ui/tokens")).text()
    assert token not in again and "crm" in again and "görüntüleyici" in again
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/brands/acme/events", headers=bearer)).status == 200
    # a viewer token writes nothing
    write = await client.post("/api/v1/brands/acme/consents", headers=bearer, json={
        "recipient": "+905321234567", "type": "MESAJ", "status": "RET", "source": "HS_WEB",
        "consent_date": "2026-01-01T10:00:00+03:00"})
    assert write.status == 403
    assert (await write.json())["detail"] == "this action needs the role agent"
    revoke = re.search(r'/ui/tokens/([0-9]+)/revoke', again)
    assert revoke
    token_id = int(revoke.group(1))
    revoked = await client.post(f"/ui/tokens/{token_id}/revoke",
                                data={"csrf": csrf_of(again)}, allow_redirects=False)
    assert revoked.status == 303
    assert (await client.get("/api/v1/brands/acme/events", headers=bearer)).status == 401
    actors = await site.pool.fetch(
        "SELECT action, actor_user_id FROM config_audit WHERE resource = 'token' ORDER BY id")
    me = await _user_id(site, EMAIL_A)
    assert [(a["action"], a["actor_user_id"]) for a in actors] == [("create", me),
                                                                   ("delete", me)]


async def test_existing_tokens_keep_their_powers_and_the_operator_is_above_roles(
        client: TestClient, site: Site) -> None:
    token = await admin.create_token(site.pool, owner_id=site.owner_a, admin=False, name="old")
    assert await site.pool.fetchval("SELECT role FROM api_token WHERE name = 'old'") == "admin"
    patch = await client.patch("/api/v1/brands/acme", json={"aliases": ["ACME MARKET"]},
                               headers={"Authorization": f"Bearer {token}"})
    assert patch.status == 200, await patch.text()
    owners = await client.get("/api/v1/owners",
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert owners.status == 200


async def test_a_stale_form_keeps_what_was_typed(client: TestClient, site: Site) -> None:
    await sign_in(client)
    response = await client.post("/ui/brands/acme", data={
        "csrf": "an-old-token", "name": "ACME", "aliases": "ACME MARKET\nACME YENİ"})
    assert response.status == 403
    html = await response.text()
    assert "yazdıklarınız korundu" in html and "ACME YENİ" in html
    assert csrf_of(html) != "an-old-token"
    consent = await client.post("/ui/brands/acme/consents", data={
        "csrf": "an-old-token", "recipient": "0532 765 43 21", "type": "MESAJ",
        "status": "RET", "source": "HS_WEB", "consent_date": "01.12.2026 10:00",
        "note": "telefonla aradı"})
    assert consent.status == 403
    page = await consent.text()
    assert "0532 765 43 21" in page and "telefonla aradı" in page
    assert await site.pool.fetchval("SELECT aliases FROM brand WHERE id = 'acme'") == [
        "ACME MARKET"]  # nothing was saved

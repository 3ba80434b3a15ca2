"""Who may do what: tokens, 401/403, and owners walled off from each other.

The choice: another owner's brand, number, token or event answers 404, exactly like one that
does not exist, so owner A cannot even learn which brands B has. 403 is only for operations
that belong to the operator (owners, numbers, admin tokens).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from inbound.api import admin
from inbound.api.openapi import document
from tests.api.conftest import World, add_message
from tests.near_miss import add_review

B_RECIPIENT = "+905559998877"


async def test_no_token_is_401_with_a_problem_document(world: World) -> None:
    for headers in ({}, {"Authorization": "Bearer iysk_not-a-token"},
                    {"Authorization": "Basic dXNlcjpwdw=="}):
        response = await world.client.get("/api/v1/brands", headers=headers)
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await response.json())["title"] == "Authentication required"


async def test_tokens_are_shown_once_and_stored_only_as_sha256(world: World) -> None:
    response = await world.client.post("/api/v1/tokens", headers=world.auth("a"),
                                       json={"name": "ci"})
    assert response.status == 201
    created = await response.json()
    token = created["token"]
    assert re.fullmatch(r"iysk_[A-Za-z0-9_-]{43}", token)
    stored = await world.pool.fetchval("SELECT token_hash FROM api_token WHERE id = $1",
                                       created["id"])
    assert stored == hashlib.sha256(token.encode()).digest()
    listed = await (await world.client.get("/api/v1/tokens", headers=world.auth("a"))).text()
    assert token not in listed
    one = await (await world.client.get(f"/api/v1/tokens/{created['id']}",
                                        headers=world.auth("a"))).json()
    assert "token" not in one and one["owner_id"] == world.owner_a


async def test_a_revoked_token_is_refused(world: World) -> None:
    token = await admin.create_token(world.pool, owner_id=world.owner_a, admin=False, name="x")
    headers = {"Authorization": f"Bearer {token}"}
    me = await (await world.client.get("/api/v1/me", headers=headers)).json()
    assert me["owner"]["id"] == world.owner_a and me["admin"] is False
    revoke = await world.client.delete(f"/api/v1/tokens/{me['token_id']}", headers=headers)
    assert revoke.status == 204
    assert (await world.client.get("/api/v1/me", headers=headers)).status == 401
    assert not await admin.revoke_token(world.pool, me["token_id"])  # already revoked


async def test_admin_token_from_the_cli_works_like_the_configured_one(world: World) -> None:
    token = await admin.create_token(world.pool, owner_id=None, admin=True, name="ops")
    response = await world.client.get("/api/v1/owners",
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert {o["id"] for o in (await response.json())["items"]} == {world.owner_a,
                                                                   world.owner_b}


async def test_operator_operations_are_403_for_an_owner(world: World) -> None:
    c, a = world.client, world.auth("a")
    calls = [c.get("/api/v1/owners", headers=a),
             c.post("/api/v1/owners", headers=a, json={"name": "x"}),
             c.get(f"/api/v1/owners/{world.owner_a}", headers=a),
             c.delete(f"/api/v1/owners/{world.owner_b}", headers=a),
             c.post("/api/v1/numbers", headers=a, json={"msisdn": "7777", "shared": True}),
             c.patch("/api/v1/numbers/4609", headers=a, json={"links": ["x"]}),
             c.delete("/api/v1/numbers/908505320000", headers=a),
             c.post("/api/v1/tokens", headers=a, json={"admin": True}),
             c.post("/api/v1/tokens", headers=a, json={"owner_id": world.owner_b}),
             c.patch("/api/v1/brands/acme", headers=a, json={"owner_id": world.owner_b})]
    for call in calls:
        response = await call
        assert response.status == 403, (response.method, response.url)
        assert response.content_type == "application/problem+json"
    # and nothing changed
    assert await world.pool.fetchval("SELECT count(*) FROM owner") == 2
    assert await world.pool.fetchval("SELECT owner_id FROM brand WHERE id = 'acme'") \
        == world.owner_a


async def _b_world(world: World) -> dict[str, Any]:
    """B's things: its brand, a dedicated number, a token id, an event and its recipient."""
    admin_headers = world.auth("admin")
    response = await world.client.post("/api/v1/numbers", headers=admin_headers,
                                       json={"msisdn": "908505329999", "brand": "kuzey"})
    assert response.status == 201
    await add_message(world.pool, sender=B_RECIPIENT, text="RET KUZEY", brand="kuzey",
                      transaction_id="tx-kuzey-secret")
    token_id = await world.pool.fetchval("SELECT id FROM api_token WHERE owner_id = $1",
                                         world.owner_b)
    review_id = await add_review(world.pool, brand="kuzey", sender=B_RECIPIENT,
                                 received_at=datetime.now(UTC))
    # B's consent link, webhook endpoint and import (issues #30-#32), with ids no other
    # text of an answer contains
    for sequence, start in (("consent_link_id_seq", 424200), ("webhook_endpoint_id_seq", 525200),
                            ("consent_import_id_seq", 626200)):
        await world.pool.execute("SELECT setval($1::regclass, $2)", sequence, start)
    b_auth = world.auth("b")
    link = await world.client.post("/api/v1/brands/kuzey/links", headers=b_auth,
                                   json={"recipient": B_RECIPIENT, "action": "RET"})
    hook = await world.client.post("/api/v1/webhooks", headers=b_auth, json={
        "url": "https://crm.kuzey.example/hooks", "events": ["consent.received"]})
    upload = await world.client.post(
        "/api/v1/brands/kuzey/imports", headers={**b_auth, "Content-Type": "text/csv"},
        data="recipient;type;status;source;consent_date\n")
    await world.pool.execute("SELECT setval('notice_subscription_id_seq', 727200)")
    notice = await world.client.post("/api/v1/notices", headers=b_auth,
                                     json={"email": "uyum@kuzey.example", "digest": True})
    assert (link.status, hook.status, upload.status, notice.status) == (201, 201, 202, 201), (
        await link.text(), await hook.text(), await upload.text(), await notice.text())
    return {"brand_id": "kuzey", "msisdn": "908505329999", "token_id": str(token_id),
            "owner_id": str(world.owner_b), "recipient": B_RECIPIENT,
            "event_id": str(review_id), "link_id": str((await link.json())["id"]),
            "webhook_id": str((await hook.json())["id"]),
            "import_id": str((await upload.json())["id"]),
            "subscription_id": str((await notice.json())["id"])}


GHOST = {"brand_id": "ghost", "msisdn": "908505320001", "token_id": "999999",
         "owner_id": "999999", "recipient": "+905550000000", "event_id": "999999",
         "link_id": "999991", "webhook_id": "999992", "import_id": "999993",
         "subscription_id": "999994"}


async def test_owner_a_can_neither_read_nor_change_nor_learn_of_owner_b(world: World) -> None:
    """Every operation of the document, aimed at B's things with A's token, answers exactly
    what it answers for things that do not exist (404; 403 for the operator's), and B's
    configuration and tokens are unchanged afterwards."""
    b = await _b_world(world)
    before = await world.pool.fetch("SELECT * FROM brand ORDER BY id")
    bodies = {"post": {"name": "x", "text": "RET"}, "patch": {"name": "Taken"},
              "put": {"RET": "mine now"}}
    tried = 0
    for path, item in document()["paths"].items():
        if "{" not in path:
            continue
        for method in ("get", "post", "patch", "put", "delete"):
            if method not in item:
                continue
            answers = []
            # required query parameters get a valid value, so the request reaches the brand
            query = {p["name"]: str(p["schema"].get("enum", ["1"])[0])
                     for p in item[method].get("parameters", [])
                     if p["in"] == "query" and p.get("required")}
            content = (item[method].get("requestBody") or {}).get("content", {})
            raw = None if not content or "application/json" in content else next(iter(content))
            sent: dict[str, Any] = ({"data": "05321234567\n"} if raw else
                                    {"json": bodies.get(method)})
            for ids in (b, GHOST):
                response = await world.client.request(
                    method.upper(), "/api/v1" + path.format(**ids),
                    headers={**world.auth("a"), **({"Content-Type": raw} if raw else {})},
                    params=query, **sent)
                text = await response.text()
                for key, value in ids.items():
                    if len(value) > 3:  # a short id would match digits of "status": 404
                        text = text.replace(value, "{" + key + "}")
                answers.append((response.status, text))
            tried += 1
            assert answers[0] == answers[1], (method, path)
            operators = "/owners/" in path or (path == "/numbers/{msisdn}" and method != "get")
            assert answers[0][0] == (403 if operators else 404), (method, path)
    assert tried >= 15
    assert await world.pool.fetch("SELECT * FROM brand ORDER BY id") == before
    assert await world.pool.fetchval(
        "SELECT revoked_at FROM api_token WHERE id = $1", int(b["token_id"])) is None


async def test_lists_exports_and_explain_show_owner_a_nothing_of_owner_b(world: World) -> None:
    await _b_world(world)
    a = world.auth("a")
    for url in ("/api/v1/brands", "/api/v1/numbers", "/api/v1/tokens", "/api/v1/audit",
                "/api/v1/rules", "/api/v1/rules?format=toml", "/api/v1/me"):
        response = await world.client.get(url, headers=a)
        assert response.status == 200, url
        text = (await response.text()).lower()
        for secret in ("kuzey", B_RECIPIENT, "tx-kuzey-secret", "908505329999",
                       "it@kuzey.example"):
            assert secret not in text, (url, secret)
    explained = await world.client.post("/api/v1/explain", headers=a,
                                        json={"number": "4609", "text": "RET KUZEY KAHVE"})
    body = await explained.json()
    assert body["outcome"] == "other_brand" and body["events"] == []
    assert "kuzey" not in body["reason"].lower()
    hidden = await world.client.post("/api/v1/explain", headers=a,
                                     json={"number": "908505329999", "text": "RET"})
    assert hidden.status == 404


async def test_a_conflict_with_another_owners_word_does_not_name_it(world: World) -> None:
    response = await world.client.post("/api/v1/brands", headers=world.auth("a"), json={
        "id": "acme-kahve", "name": "ACME KAHVE", "aliases": ["KUZEY"], "iys_code": 700001,
        "brand_code": 700009})
    assert response.status == 409
    body = await response.json()
    assert body["errors"] == [{"field": "rules", "word": "kuzey", "number": "4609",
                               "reason": "'kuzey' is already used by another brand on 4609"}]
    # the operator is told which brands
    response = await world.client.post("/api/v1/brands", headers=world.auth("admin"), json={
        "id": "acme-kahve", "name": "ACME KAHVE", "aliases": ["KUZEY"], "iys_code": 700001,
        "brand_code": 700009})
    assert "kuzey" in (await response.json())["errors"][0]["reason"]
    assert "acme-kahve" in (await response.json())["errors"][0]["reason"]

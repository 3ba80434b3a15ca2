"""The review queue through the brand-owner API: list, confirm, dismiss, scoping, audit,
deciding twice, and the brand's review_auto_ret setting (issue #24, item 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iys_push import calendar
from tests.api.conftest import World, add_message
from tests.near_miss import NEAR_MISS, add_review

ALI = "+905321234567"


async def _item(world: World, brand: str = "acme", hours_ago: float = 2) -> tuple[int, datetime]:
    received_at = datetime.now(UTC) - timedelta(hours=hours_ago)
    return await add_review(world.pool, brand=brand, sender=ALI, received_at=received_at), \
        received_at


async def test_the_owner_lists_its_open_items_with_text_deadline_and_time_left(
        world: World) -> None:
    event_id, received_at = await _item(world)
    await _item(world, brand="kuzey")
    response = await world.client.get("/api/v1/brands/acme/reviews", headers=world.auth("a"))
    assert response.status == 200, await response.text()
    page = await response.json()
    assert page["next_cursor"] is None
    [item] = page["items"]
    deadline = calendar.deadline_for(received_at)
    assert (item["id"], item["recipient"], item["status"], item["state"], item["text"]) == (
        event_id, ALI, "RET", "review", NEAR_MISS)
    assert datetime.fromisoformat(item["received_at"]) == received_at
    assert datetime.fromisoformat(item["deadline_at"]) == deadline
    # PostgreSQL's interval * 0.9 and Python's timedelta * 0.9 may round the last
    # microsecond apart
    assert abs(datetime.fromisoformat(item["auto_ret_at"]) - (received_at + (
        deadline - received_at) * 0.9)) <= timedelta(microseconds=1)
    left = (deadline - datetime.now(UTC)).total_seconds()
    assert abs(item["seconds_left"] - left) < 60
    assert item["auto_ret"] is True and item["review_decision"] is None


async def test_another_owner_sees_and_decides_nothing(world: World) -> None:
    event_id, _ = await _item(world)
    b = world.auth("b")
    assert (await world.client.get("/api/v1/brands/acme/reviews", headers=b)).status == 404
    for action in ("confirm", "dismiss"):
        # through the other owner's brand, and through its own brand with A's item id
        for brand in ("acme", "kuzey"):
            response = await world.client.post(
                f"/api/v1/brands/{brand}/reviews/{event_id}/{action}", headers=b)
            assert response.status == 404, (brand, action)
    assert await world.pool.fetchval("SELECT state FROM consent_event") == "review"
    assert await world.pool.fetchval(
        "SELECT count(*) FROM config_audit WHERE resource = 'review'") == 0


async def test_confirm_makes_the_ret_with_the_original_receipt_time_and_is_audited(
        world: World) -> None:
    event_id, received_at = await _item(world, hours_ago=30)
    a = world.auth("a")
    response = await world.client.post(f"/api/v1/brands/acme/reviews/{event_id}/confirm",
                                       headers=a)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["state"], body["review_decision"], body["reviewed_by"]) == (
        "pending", "confirmed", f"owner:{world.owner_a}")
    row = await world.pool.fetchrow("SELECT * FROM consent_event WHERE id = $1", event_id)
    assert row["consent_date"] == received_at  # not the time of the confirmation
    assert row["next_attempt_at"] <= datetime.now(UTC)
    audit = await (await world.client.get("/api/v1/audit?resource=review", headers=a)).json()
    [entry] = audit["items"]
    assert (entry["action"], entry["resource_id"], entry["actor"]["owner_id"]) == (
        "confirm", str(event_id), world.owner_a)
    assert (entry["before"]["state"], entry["after"]["state"]) == ("review", "pending")
    assert ALI not in str(entry)  # the audit keeps the decision, not the phone number
    other = await (await world.client.get("/api/v1/audit?resource=review",
                                          headers=world.auth("b"))).json()
    assert other["items"] == []
    listing = await (await world.client.get("/api/v1/brands/acme/reviews", headers=a)).json()
    assert listing["items"] == []  # decided: no longer open


async def test_deciding_twice_is_a_409_that_changes_nothing(world: World) -> None:
    event_id, _ = await _item(world)
    a = world.auth("a")
    url = f"/api/v1/brands/acme/reviews/{event_id}"
    assert (await world.client.post(f"{url}/dismiss", headers=a)).status == 200
    for action in ("confirm", "dismiss"):
        response = await world.client.post(f"{url}/{action}", headers=a)
        assert response.status == 409
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert "already decided: dismissed" in problem["detail"]
    assert tuple(await world.pool.fetchrow(
        "SELECT state, review_decision FROM consent_event")) == ("dismissed", "dismissed")
    assert await world.pool.fetchval(
        "SELECT count(*) FROM config_audit WHERE resource = 'review'") == 1


async def test_an_event_that_never_was_a_review_item_is_not_found(world: World) -> None:
    await add_message(world.pool, sender=ALI, text="RET ACME", brand="acme", state="pending",
                      transaction_id=None)
    event_id = await world.pool.fetchval("SELECT id FROM consent_event")
    a = world.auth("a")
    for path in (f"{event_id}/confirm", "999999/dismiss", "abc/confirm"):
        response = await world.client.post(f"/api/v1/brands/acme/reviews/{path}", headers=a)
        assert response.status == 404, path
    assert await world.pool.fetchval("SELECT state FROM consent_event") == "pending"


async def test_the_events_api_filters_by_the_new_states_and_shows_the_decision(
        world: World) -> None:
    event_id, _ = await _item(world)
    a = world.auth("a")
    for state in ("review", "dismissed", "superseded", "duplicate"):
        response = await world.client.get(f"/api/v1/brands/acme/events?state={state}",
                                          headers=a)
        assert response.status == 200, state
    await world.client.post(f"/api/v1/brands/acme/reviews/{event_id}/dismiss", headers=a)
    page = await (await world.client.get("/api/v1/brands/acme/events?state=dismissed",
                                         headers=a)).json()
    [event] = page["items"]
    assert (event["id"], event["review_decision"]) == (event_id, "dismissed")


async def test_the_brand_setting_review_auto_ret(world: World) -> None:
    a = world.auth("a")
    brand = await (await world.client.get("/api/v1/brands/acme", headers=a)).json()
    assert brand["review_auto_ret"] is True
    response = await world.client.patch("/api/v1/brands/acme", json={"review_auto_ret": False},
                                        headers=a)
    assert response.status == 200, await response.text()
    assert (await response.json())["review_auto_ret"] is False
    assert await world.pool.fetchval(
        "SELECT settings -> 'review_auto_ret' FROM brand WHERE id = 'acme'") is False
    await _item(world)
    [item] = (await (await world.client.get("/api/v1/brands/acme/reviews",
                                            headers=a)).json())["items"]
    assert item["auto_ret"] is False
    bad = await world.client.patch("/api/v1/brands/acme", json={"review_auto_ret": "no"},
                                   headers=a)
    assert bad.status == 422
    back = await world.client.patch("/api/v1/brands/acme", json={"review_auto_ret": True},
                                    headers=a)
    assert (await back.json())["review_auto_ret"] is True
    assert await world.pool.fetchval(
        "SELECT settings ? 'review_auto_ret' FROM brand WHERE id = 'acme'") is False

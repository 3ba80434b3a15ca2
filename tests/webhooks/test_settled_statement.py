"""consent.settled from one statement-level trigger (migration 0035): a list settled in one
UPDATE gives one event per settled row, as the row trigger did; other updates give none."""

from __future__ import annotations

from tests.api.conftest import add_message
from tests.webhooks.conftest import Owners, add_endpoint


async def test_one_update_settling_many_events_enqueues_one_settled_event_each(
        owners: Owners) -> None:
    pool = owners.pool
    await add_endpoint(pool, owners.a, "http://127.0.0.1:9/hook", events=("consent.settled",))
    for sender in ("+905321234567", "+905321234568", "+905321234569"):
        await add_message(pool, sender=sender, text="RET ACME", brand="acme",
                          state="pending", transaction_id=None)
    # a lease changes no state: nothing
    await pool.execute("UPDATE consent_event SET lease_owner = 'w', updated_at = now()")
    assert await pool.fetchval(
        "SELECT count(*) FROM webhook_event WHERE kind = 'consent.settled'") == 0
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM consent_event ORDER BY id")]
    await pool.execute(
        "UPDATE consent_event SET state = CASE WHEN id = $1 THEN 'failed' ELSE 'accepted' END,"
        " iys_transaction_id = 'tx-' || id, last_error_code = CASE WHEN id = $1 THEN 'H178'"
        " END WHERE id = ANY($2::bigint[])", ids[0], ids)
    rows = await pool.fetch("SELECT brand_id, data FROM webhook_event"
                            " WHERE kind = 'consent.settled' ORDER BY id")
    assert [r["data"]["event_id"] for r in rows] == ids
    assert all(r["data"]["previous_state"] == "pending" for r in rows)
    assert [r["data"]["state"] for r in rows] == ["failed", "accepted", "accepted"]
    assert rows[0]["data"]["error_code"] == "H178"
    assert rows[1]["data"]["iys_transaction_id"] == f"tx-{ids[1]}"
    assert all(r["brand_id"] == "acme" and r["data"]["brand"] == "acme" for r in rows)
    # settled again (a requeue and a second outcome is a new state change; the same state
    # again is not)
    await pool.execute("UPDATE consent_event SET state = 'accepted' WHERE id = ANY($1)", ids)
    assert await pool.fetchval(
        "SELECT count(*) FROM webhook_event WHERE kind = 'consent.settled'") == 4

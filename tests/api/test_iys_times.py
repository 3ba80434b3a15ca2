"""An İYS timestamp (Turkey time, IYS_API.md §3.4) reaches the API, the CSV and the evidence
page unchanged, with its zone: "2026-12-03 08:21:28" from İYS is 08:21:28 in İstanbul, never
11:21:28 (İYS's local time read as UTC)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import asyncpg

from iys_push import store
from iys_push.sandbox.http_common import movement_body
from iys_push.sandbox.rules import Movement
from iys_push.timefmt import TR
from tests.api.conftest import World, add_message

# a pulled movement as the puller stores it (the service writes them with mirror.sql's
# insert_movements, which also applies them to the per-key view; this test needs only the row)
INSERT_CHANGE = """
INSERT INTO iys_change (brand_code, transaction_id, recipient, recipient_type, type, status,
                        source, consent_date, creation_date, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (brand_code, transaction_id, recipient, type) DO NOTHING
"""

CREATED = datetime(2026, 12, 3, 8, 21, 28, tzinfo=TR)  # as İYS's clock read it


async def _accepted_by_sandbox(pool: asyncpg.Pool) -> str:
    """An event finished as the pusher finishes it, with the sandbox's own answer."""
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending", transaction_id=None)
    event_id = await pool.fetchval("SELECT id FROM consent_event")
    answer = movement_body(Movement(700001, "+905321234567", "BIREYSEL", "MESAJ", "RET",
                                    "HS_MESAJ", None, CREATED, "tx-25"))
    assert answer["creationDate"] == "2026-12-03 08:21:28"
    await pool.execute(store.SQL.finish, [event_id], ["accepted"], [answer["transactionId"]],
                       [answer["creationDate"]], [None], [None], [None])
    return answer["creationDate"]


async def test_creation_date_round_trips_to_the_api_and_the_csv(world: World) -> None:
    text = await _accepted_by_sandbox(world.pool)
    # the text İYS sent stays as evidence; the instant beside it is the right one
    row = await world.pool.fetchrow("SELECT iys_creation_date, iys_created_at FROM consent_event")
    assert row["iys_creation_date"] == text
    assert row["iys_created_at"] == datetime(2026, 12, 3, 5, 21, 28, tzinfo=UTC)

    auth = world.auth("a")
    events = await (await world.client.get("/api/v1/brands/acme/events", headers=auth)).json()
    assert events["items"][0]["iys_creation_date"] == "2026-12-03T08:21:28+03:00"
    history = await (await world.client.get("/api/v1/brands/acme/recipients/+905321234567",
                                            headers=auth)).json()
    assert history["events"][0]["iys_creation_date"] == "2026-12-03T08:21:28+03:00"
    exported = await (await world.client.get("/api/v1/brands/acme/events.csv",
                                             headers=auth)).text()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert rows[0]["iys_creation_date"] == "2026-12-03T08:21:28+03:00"


async def test_pulled_changes_show_their_dates_in_turkey_time(world: World) -> None:
    await add_message(world.pool, sender="+905321234567", text="RET ACME", brand="acme")
    await world.pool.execute(
        INSERT_CHANGE, 700001, "tx-pulled", "+905321234567", "BIREYSEL", "MESAJ", "ONAY",
        "HS_EDEVLET", "2026-12-02 23:30:00", "2026-12-03 00:10:05", {"source": "HS_EDEVLET"})
    history = await (await world.client.get("/api/v1/brands/acme/recipients/+905321234567",
                                            headers=world.auth("a"))).json()
    change = history["iys_changes"][0]
    assert change["consent_date"] == "2026-12-02T23:30:00+03:00"
    assert change["creation_date"] == "2026-12-03T00:10:05+03:00"


async def test_a_date_that_cannot_exist_keeps_its_text_and_shows_none(pool: asyncpg.Pool) -> None:
    assert await pool.fetchval("SELECT iys_time('2026-15-03 08:21:28')") is None
    assert await pool.fetchval("SELECT iys_time('2026-12-03T08:21:28')") is None
    assert await pool.fetchval("SELECT iys_time(NULL)") is None
    assert await pool.fetchval("SELECT iys_time('2026-12-03 08:21:28')") == CREATED

"""A brand's messages and events: filters, cursor pages, the recipient's evidence, and a CSV
export that streams 100,000 events in bounded memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import timedelta

from tests.api.conftest import T0, World, add_message

ALI = "+905321234567"
AYSE = "+905551112233"


async def _seed(world: World) -> None:
    await add_message(world.pool, sender=ALI, text="IZIN ACME", brand="acme", status="ONAY",
                      at=T0)
    await add_message(world.pool, sender=ALI, text="RET ACME", brand="acme", at=T0 +
                      timedelta(hours=1), state="pending", transaction_id=None)
    await add_message(world.pool, sender=AYSE, text="RET ACME", brand="acme",
                      at=T0 + timedelta(days=1))
    await add_message(world.pool, sender=AYSE, text="merhaba", brand=None, to="908505320000",
                      outcome="no_keyword", at=T0 + timedelta(days=2))
    await add_message(world.pool, sender=AYSE, text="RET KUZEY", brand="kuzey")


async def test_events_filter_by_recipient_status_state_and_time(world: World) -> None:
    await _seed(world)
    c, a = world.client, world.auth("a")

    async def ids(query: str) -> list[str]:
        response = await c.get(f"/api/v1/brands/acme/events?{query}", headers=a)
        assert response.status == 200, await response.text()
        return [(e["recipient"], e["status"]) for e in (await response.json())["items"]]

    assert await ids("") == [(AYSE, "RET"), (ALI, "RET"), (ALI, "ONAY")]
    assert await ids("recipient=%2B905321234567") == [(ALI, "RET"), (ALI, "ONAY")]
    assert await ids("recipient=905321234567&status=ONAY") == [(ALI, "ONAY")]
    assert await ids("state=pending") == [(ALI, "RET")]
    assert await ids("since=2024-05-02T09:30:00Z&until=2024-05-03T13:00:00%2B03:00") \
        == [(AYSE, "RET"), (ALI, "RET")]
    bad = await c.get("/api/v1/brands/acme/events?state=lost&since=yesterday", headers=a)
    assert bad.status == 422
    assert (await bad.json())["errors"][0]["field"] in ("state", "since")


async def test_messages_include_those_to_the_brands_own_number_whatever_the_outcome(
    world: World,
) -> None:
    await _seed(world)
    response = await world.client.get("/api/v1/brands/acme/messages?recipient=%2B905551112233",
                                      headers=world.auth("a"))
    items = (await response.json())["items"]
    assert [(m["text"], m["outcome"]) for m in items] == [("merhaba", "no_keyword"),
                                                         ("RET ACME", "consent")]
    only = await world.client.get("/api/v1/brands/acme/messages?outcome=no_keyword",
                                  headers=world.auth("a"))
    assert [m["text"] for m in (await only.json())["items"]] == ["merhaba"]


async def test_cursor_pages_walk_every_event_once(world: World) -> None:
    await world.pool.execute("""
        INSERT INTO mo_message (link, received_at, completed_at, sender, outcome)
        VALUES ('l', now(), now(), '+905321234567', 'consent')""")
    await world.pool.execute("""
        INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, received_at, consent_date, deadline_at)
        SELECT 1, 'acme', 700001, 700001, '+90532' || lpad(g::text, 7, '0'), 'BIREYSEL',
               'MESAJ', 'RET', now(), now(), now() + interval '3 days'
          FROM generate_series(1, 25) g""")
    seen: list[int] = []
    url = "/api/v1/brands/acme/events?limit=10"
    while url:
        page = await (await world.client.get(url, headers=world.auth("a"))).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        url = f"/api/v1/brands/acme/events?limit=10&cursor={cursor}" if cursor else ""
    assert seen == list(range(25, 0, -1))
    forged = await world.client.get("/api/v1/brands/acme/events?cursor=bm9wZQ",
                                    headers=world.auth("a"))
    assert forged.status == 422


async def test_recipient_history_is_the_evidence(world: World) -> None:
    await _seed(world)
    response = await world.client.get(f"/api/v1/brands/acme/recipients/{ALI}",
                                      headers=world.auth("a"))
    assert response.status == 200
    history = await response.json()
    assert [m["text"] for m in history["messages"]] == ["IZIN ACME", "RET ACME"]
    first = history["messages"][0]
    assert first["received_at"] == "2024-05-02T09:00:00+00:00"
    assert first["pdus"][0]["pdu_base64"] == "AAAAKgAAAAVJWklOIEFDTUU="  # raw bytes kept
    accepted = history["events"][0]
    assert accepted["state"] == "accepted" and accepted["iys_transaction_id"] == "tx-1"
    assert accepted["iys_attempts"][0]["http_status"] == 200
    assert accepted["iys_attempts"][0]["request"] == {"recipient": ALI, "status": "ONAY"}
    nobody = await world.client.get("/api/v1/brands/acme/recipients/+905000000000",
                                    headers=world.auth("a"))
    assert nobody.status == 404


async def test_csv_export_of_100000_events_streams_in_bounded_memory(world: World) -> None:
    message_id = await add_message(world.pool, sender=ALI, text="RET ACME", brand=None)
    await world.pool.execute("""
        INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, received_at, consent_date, deadline_at, state,
               iys_transaction_id, last_error)
        SELECT $1, 'acme', 700001, 700001, '+90532' || lpad(g::text, 7, '0'), 'BIREYSEL',
               'MESAJ', 'RET', now(), now(), now() + interval '3 days', 'accepted',
               'tx-' || g, CASE WHEN g = 7 THEN '=HYPERLINK("x")' END
          FROM generate_series(1, 100000) g""", message_id)
    tracemalloc.start()
    try:
        response = await world.client.get("/api/v1/brands/acme/events.csv",
                                          headers=world.auth("a"))
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        rows = 0
        size = 0
        first_lines = b""
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            rows += chunk.count(b"\r\n")
            if len(first_lines) < 4096:
                first_lines += chunk[:4096]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"CSV export: {rows - 1} rows, {size / 1e6:.1f} MB streamed, "
          f"peak traced memory {peak / 1e6:.2f} MB")
    assert rows == 100_001  # the header and every event
    assert peak < 8_000_000, "the export must not hold the whole result in memory"
    lines = list(csv.reader(io.StringIO(first_lines.decode())))
    assert lines[0][:4] == ["id", "message_id", "brand_id", "recipient"]
    assert lines[7][lines[0].index("last_error")] == "'=HYPERLINK(\"x\")"

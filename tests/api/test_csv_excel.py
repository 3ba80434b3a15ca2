"""The events CSV for Excel (issue #33): ``?format=excel`` has a UTF-8 BOM, ``;`` unless
``sep=comma``, every time in Turkey time to the second with the zone in the header; the
plain form is what it was (scripts read it)."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import T0, World, add_message

ALI = "+905321234567"


async def _export(world: World, query: str) -> bytes:
    response = await world.client.get(f"/api/v1/brands/acme/events.csv?{query}",
                                      headers=world.auth("a"))
    assert response.status == 200, await response.text()
    return await response.read()


async def test_excel_form_has_bom_semicolons_and_turkey_time(world: World) -> None:
    await add_message(world.pool, sender=ALI, text="RET ACME", brand="acme", at=T0)
    raw = await _export(world, "format=excel")
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert "received_at (Europe/Istanbul)" in header and "recipient" in header
    # T0 is 09:00 UTC: 12:00 in Türkiye, no microseconds, no offset
    assert row["received_at (Europe/Istanbul)"] == "2024-05-02 12:00:00"
    assert row["recipient"] == ALI
    commas = list(csv.reader(io.StringIO((await _export(world, "format=excel&sep=comma"))
                                         .decode("utf-8-sig"))))
    assert commas[1][commas[0].index("received_at (Europe/Istanbul)")] == "2024-05-02 12:00:00"


async def test_plain_form_is_unchanged(world: World) -> None:
    await add_message(world.pool, sender=ALI, text="RET ACME", brand="acme", at=T0)
    raw = await _export(world, "")
    assert not raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert rows[0]["received_at"] == T0.isoformat()


async def test_an_unknown_format_or_separator_is_refused(world: World) -> None:
    for query in ("format=xlsx", "sep=tab"):
        response = await world.client.get(f"/api/v1/brands/acme/events.csv?{query}",
                                          headers=world.auth("a"))
        assert response.status == 422, query

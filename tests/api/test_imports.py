"""Bulk upload over the API: the file as the body, 202 with an id, counts, rows.csv, cancel,
and another owner's brand or import not revealed."""

from __future__ import annotations

import asyncio
import csv
import io
import time

from inbound.api import routes_imports
from tests.api.conftest import World
from tests.imports.files import TR_HEADERS, csv_bytes, recent, xlsx_bytes

ROWS = [("0532 123 45 67", "MESAJ", "ONAY", "HS_WEB", "", recent()),
        ("0532 123 45 68", "MESAJ", "ONAY", "HS_WEB", "", recent()),
        ("0532 123 45 68", "MESAJ", "RET", "HS_WEB", "", recent(5)),
        ("ali@ornek.com", "EPOSTA", "ONAY", "HS_ISLAK_IMZA", "", recent()),
        ("0532 123", "MESAJ", "ONAY", "HS_WEB", "", recent()),
        ("0532 123 45 69", "MESAJ", "ONAY", "HS_WEB", "", "01.02.2020 10:00")]


async def finished_storing(world: World, url: str, who: str = "a") -> dict:
    await routes_imports.wait_for_storing()
    deadline = time.monotonic() + 30
    while True:
        answer = await world.client.get(url, headers=world.auth(who))
        body = await answer.json()
        if body["state"] != "storing" or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def test_upload_a_csv_then_follow_it_and_read_its_rows_back(world: World) -> None:
    data = csv_bytes(ROWS, header=TR_HEADERS, sep=";", bom=True)
    answer = await world.client.post("/api/v1/brands/acme/imports?filename=magaza.csv",
                                     data=data, headers={**world.auth("a"),
                                                         "Content-Type": "text/csv"})
    assert answer.status == 202, await answer.text()
    started = await answer.json()
    body = await finished_storing(world, started["url"])
    assert body["state"] == "pushing" and body["filename"] == "magaza.csv"
    assert body["counts"] | {"refused_by_reason": None} == {
        "read": 6, "valid": 3, "refused": 2, "refused_by_reason": None, "duplicate": 1,
        "unchanged": 0, "pushed": 0, "waiting": 3, "in_flight": 0, "accepted": 0,
        "failed": 0, "not_needed": 0, "superseded": 0, "cancelled": 0}
    assert body["counts"]["refused_by_reason"] == {"H121": 1, "H467": 1}
    rows = await world.client.get(started["url"] + "/rows.csv", headers=world.auth("a"))
    assert rows.status == 200 and rows.content_type == "text/csv"
    table = list(csv.reader(io.StringIO((await rows.read()).decode("utf-8-sig"))))
    assert table[0][-3:] == ["result", "transaction_id", "detail"]
    assert [r[7] for r in table[1:]] == ["pending", "duplicate", "pending", "pending",
                                         "refused", "refused"]
    assert "H467" in table[6][9]
    # cancelled: nothing of it will be sent
    cancel = await world.client.post(started["url"] + "/cancel", headers=world.auth("a"))
    assert cancel.status == 200
    assert (await cancel.json())["counts"]["cancelled"] == 3
    again = await world.client.post(started["url"] + "/cancel", headers=world.auth("a"))
    assert again.status == 409


async def test_xlsx_upload(world: World) -> None:
    answer = await world.client.post("/api/v1/brands/acme/imports", data=xlsx_bytes(ROWS[:1]),
                                     headers=world.auth("a"))
    assert answer.status == 202
    body = await finished_storing(world, (await answer.json())["url"])
    assert body["format"] == "xlsx" and body["counts"]["valid"] == 1


async def test_a_file_without_the_needed_columns_is_refused_at_once(world: World) -> None:
    for data in (b"ad;telefon\nx;y\n", b"", "alıcı;tür;durum\n".encode("utf-16")):
        answer = await world.client.post("/api/v1/brands/acme/imports", data=data,
                                         headers=world.auth("a"))
        assert answer.status == 422, data
    assert await world.pool.fetchval("SELECT count(*) FROM consent_import") == 0


async def test_another_owners_brand_and_imports_are_not_found(world: World) -> None:
    answer = await world.client.post("/api/v1/brands/kuzey/imports", data=csv_bytes(ROWS),
                                     headers=world.auth("a"))
    assert answer.status == 404
    answer = await world.client.post("/api/v1/brands/acme/imports", data=csv_bytes(ROWS),
                                     headers=world.auth("a"))
    url = (await answer.json())["url"]
    await finished_storing(world, url)
    for path in (url, url + "/rows.csv", url.replace("/acme/", "/kuzey/")):
        assert (await world.client.get(path, headers=world.auth("b"))).status == 404
    assert (await world.client.post(url + "/cancel", headers=world.auth("b"))).status == 404


async def test_state_only_upload_seeds_the_mirror_and_a_bad_flag_is_refused(
        world: World) -> None:
    data = csv_bytes([("0532 123 45 67", "MESAJ", "ONAY", "HS_WEB", "", "01.02.2020 10:00")],
                     header=TR_HEADERS, sep=";")
    headers = {**world.auth("a"), "Content-Type": "text/csv"}
    bad = await world.client.post("/api/v1/brands/acme/imports?state_only=yes", data=data,
                                  headers=headers)
    assert bad.status == 422
    answer = await world.client.post("/api/v1/brands/acme/imports?state_only=true",
                                     data=data, headers=headers)
    assert answer.status == 202, await answer.text()
    body = await finished_storing(world, (await answer.json())["url"])
    assert body["state"] == "finished" and body["state_only"] is True
    assert body["counts"]["valid"] == 1 and body["counts"]["pushed"] == 0
    origin = await world.pool.fetchval(
        "SELECT origin FROM iys_key_state WHERE recipient = '+905321234567'")
    assert origin == "seed"

"""Bulk upload on the web page (issue #31): a multipart form whose file is streamed, the
import's page with its counts (refreshing while it runs), its rows, cancel; CSRF first."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestClient

from inbound.api import routes_imports
from tests.imports.files import TR_HEADERS, csv_bytes, recent
from tests.web.conftest import Site, csrf_of, sign_in

ROWS = [("0532 123 45 67", "MESAJ", "ONAY", "HS_ISLAK_IMZA", "", recent()),
        ("0532 123", "MESAJ", "ONAY", "HS_ISLAK_IMZA", "", recent())]


def form(csrf: str | None, data: bytes, name: str = "magaza.csv") -> aiohttp.FormData:
    body = aiohttp.FormData()
    if csrf is not None:
        body.add_field("csrf", csrf)
    body.add_field("file", data, filename=name, content_type="text/csv")
    return body


async def test_upload_follow_read_rows_and_cancel(client: TestClient, site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/imports")).text()
    assert "Toplu yükleme" in html and 'enctype="multipart/form-data"' in html
    data = csv_bytes(ROWS, header=TR_HEADERS, sep=";", bom=True)
    response = await client.post("/ui/brands/acme/imports", data=form(csrf_of(html), data),
                                 allow_redirects=False)
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    await routes_imports.wait_for_storing()
    page = await client.get(location)
    text = await page.text()
    assert page.headers.get("Refresh") == "3"          # pushing: the page follows it
    assert "İYS&#x27;ye gönderiliyor" in text and "H121: 1" in text
    rows = await (await client.get(location + "/rows.csv")).read()
    assert b"refused" in rows and b"pending" in rows
    row = await site.pool.fetchrow("SELECT via, actor, filename FROM consent_import")
    assert (row["via"], row["actor"], row["filename"]) == ("web", f"owner:{site.owner_a}",
                                                           "magaza.csv")
    cancelled = await client.post(location + "/cancel", data={"csrf": csrf_of(text)},
                                  allow_redirects=False)
    assert cancelled.status == 303
    after = await client.get(location)
    assert "iptal edildi" in await after.text()
    assert await site.pool.fetchval("SELECT count(*) FROM consent_event WHERE state = "
                                    "'dismissed'") == 1


async def test_an_upload_without_csrf_first_or_with_a_bad_header_stores_nothing(
        client: TestClient, site: Site) -> None:
    await sign_in(client)
    html = await (await client.get("/ui/brands/acme/imports")).text()
    refused = await client.post("/ui/brands/acme/imports", data=form(None, csv_bytes(ROWS)))
    assert refused.status == 403
    bad = await client.post("/ui/brands/acme/imports",
                            data=form(csrf_of(html), b"ad;soyad\nx;y\n"))
    assert bad.status == 422 and 'id="e-file"' in await bad.text()
    assert await site.pool.fetchval("SELECT count(*) FROM consent_import") == 0


async def test_another_owners_brand_is_not_found(client: TestClient, site: Site) -> None:
    await sign_in(client)
    assert (await client.get("/ui/brands/kuzey/imports")).status == 404

"""The İYS mirror on the web page: the overview section and a brand's reports."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient

from tests.web.conftest import Site, sign_in


async def test_the_overview_shows_each_brands_mirror_and_the_reports_page_its_days(
        client: TestClient, site: Site) -> None:
    await site.pool.execute(
        "INSERT INTO iys_mirror_status (brand_code, pulled_at, push_registered, reconciled_day)"
        " VALUES (700001, now() - interval '5 minutes', true, '2026-11-30')")
    await site.pool.execute(
        "INSERT INTO iys_reconciliation (brand_code, day, outcome, file_rows, drift_rows, "
        "drift, hash_ok) VALUES (700001, $1, 'drift', 4, 1, $2, true)", date(2026, 12, 1),
        '[{"event_id": 9, "transaction_id": "tx", "recipient": "+90532*****67", '
        '"type": "MESAJ", "status": "RET"}]')
    await sign_in(client)
    overview = await (await client.get("/ui/brands")).text()
    assert "İYS kopyası ve mutabakat" in overview
    assert "2026-11-30" in overview and "2026-12-01: sapma (1)" in overview
    assert "evet" in overview
    assert "KUZEY" not in overview.split("mirror-h")[1]        # another owner's brand
    reports = await client.get("/ui/brands/acme/mirror")
    text = await reports.text()
    assert reports.status == 200 and "Mutabakat raporları" in text and "sapma" in text
    assert "+90532*****67" in text and "<script>" not in text.split("</main>")[0]
    assert (await client.get("/ui/brands/kuzey/mirror")).status == 404

"""The evidence page shows İYS's creationDate as İYS wrote it, in Turkey time, the zone
named (issue #25: it showed 11:21:28 for İYS's 08:21:28)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from iys_push import store
from tests.web.conftest import RECIPIENT, Site, sign_in


async def test_evidence_page_shows_the_creation_date_in_turkey_time(client: TestClient,
                                                                     site: Site) -> None:
    event_id = await site.pool.fetchval(
        "SELECT id FROM consent_event WHERE recipient = $1", RECIPIENT)
    await site.pool.execute("UPDATE consent_event SET state = 'pending' WHERE id = $1", event_id)
    await site.pool.execute(store.SQL.finish, [event_id], ["accepted"], ["tx-25"],
                            ["2026-12-03 08:21:28"], [None], [None], [None])
    assert (await sign_in(client))[0] == 200
    page = await (await client.get(f"/ui/brands/acme/recipients/{RECIPIENT}")).text()
    assert "2026-12-03 08:21:28 +03:00 (Europe/Istanbul)" in page
    assert "11:21:28" not in page

"""The puller: İYS-side changes stored with their cursor, and used by the pusher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from iys_push.puller import Puller
from iys_push.pusher import Pusher
from iys_push.sandbox.testing import SandboxServer, seed_consent
from tests.iys_push.conftest import BOB, add_event, adds, drain, requests, settings, states


async def citizen_change(sb: SandboxServer, recipient: str, status: str,
                         hours_ago: float) -> None:
    """A movement the citizen made in İYS itself (the 3338 short number), ``hours_ago``
    (the changes feed hides the last hour)."""
    sb.clock.advance(-hours_ago * 3600)
    async with aiohttp.ClientSession() as http, http.post(
            sb.url + "/_sandbox/citizen-change",
            json={"brandCode": 700001, "recipient": recipient, "status": status}) as resp:
        assert resp.status == 200
    sb.clock.advance(hours_ago * 3600)


async def test_citizen_changes_are_stored_once_with_their_cursor(sandbox: SandboxServer,
                                                                 db: asyncpg.Pool) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=BOB)  # HS: not in the feed
    await citizen_change(sandbox, BOB, "RET", hours_ago=2)
    puller = Puller(db, settings(sandbox))
    assert await puller.pull_once(700001, 700001) == 1
    assert await puller.pull_once(700001, 700001) == 0  # the cursor was kept: 204
    await puller.client.close()
    # both sources each time (HS: the seed is 30 days old, out of the window): 1 + 2 empty
    assert requests(sandbox, "/consents/changes 204") == 3
    change = await db.fetchrow("SELECT * FROM iys_change")
    assert (change["source"], change["status"], change["recipient"]) == (
        "IYS_KISAMESAJ", "RET", BOB)
    view = await db.fetchrow("SELECT status, origin FROM iys_key_state")
    assert (view["status"], view["origin"]) == ("RET", "pull")
    assert await db.fetchval("SELECT after FROM iys_pull_cursor WHERE brand_code = 700001 "
                             "AND source = 'IYS'")
    assert await db.fetchval("SELECT pulled_at FROM iys_mirror_status WHERE brand_code = 700001")


async def test_an_onay_older_than_the_citizens_own_ret_is_superseded_not_sent(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    # we received IZIN three hours ago but could not send it; two hours ago the citizen
    # withdrew it through 3338: their later word stands, and İYS would say H178
    await add_event(db, BOB, "ONAY", received_at=datetime.now(UTC) - timedelta(hours=3))
    await seed_consent(sandbox, brand_code=700001, recipient=BOB)
    await citizen_change(sandbox, BOB, "RET", hours_ago=2)
    puller = Puller(db, settings(sandbox))
    await puller.pull_once(700001, 700001)
    await puller.client.close()
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    row = await db.fetchrow("SELECT state, last_error_code FROM consent_event")
    assert (row["state"], row["last_error_code"]) == ("superseded", "SUPERSEDED")
    assert adds(sandbox) == 0


async def test_a_new_izin_after_the_citizens_ret_is_sent(sandbox: SandboxServer,
                                                         db: asyncpg.Pool) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=BOB)
    await citizen_change(sandbox, BOB, "RET", hours_ago=2)
    puller = Puller(db, settings(sandbox))
    await puller.pull_once(700001, 700001)
    await puller.client.close()
    await add_event(db, BOB, "ONAY")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    assert await states(db) == ["accepted"]
    assert [m.status for m in sandbox.state.movements_for(700001, BOB)] == [
        "ONAY", "RET", "ONAY"]

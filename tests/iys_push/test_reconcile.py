"""The daily reconciliation against the sandbox's files: drift reported and repaired, the
agreement recorded only for a matching day and only when the brand chose it."""

from __future__ import annotations

from datetime import date

import aiohttp
import asyncpg

from iys_push.client import IysClient
from iys_push.pusher import Pusher
from iys_push.reconcile import parse_file, reconcile_day
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.timefmt import TR
from tests.iys_push.conftest import ALICE, BOB, add_event, drain, settings, states


async def _drift(sb: SandboxServer, body: dict[str, object]) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            sb.url + "/_sandbox/reconciliation-drift", json=body) as resp:
        assert resp.status == 200, await resp.text()


async def _seed_earlier(sb: SandboxServer, recipient: str) -> None:
    # a few seconds before our push: one key's movements within one second share a
    # transaction id in İYS (§2.1), and this test tells them apart by it
    sb.clock.advance(-5)
    await seed_consent(sb, brand_code=700001, recipient=recipient)
    sb.clock.advance(5)


def _today(sb: SandboxServer) -> date:
    return sb.clock.now().astimezone(TR).date()


async def test_a_day_with_drift_is_reported_repaired_and_agreed_only_after(
        sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    await db.execute("UPDATE brand SET reconcile_auto_agree = true WHERE id = 'acme'")
    await _seed_earlier(sandbox, ALICE)
    await add_event(db, ALICE, "RET")
    pusher = Pusher(db, "", settings(sandbox), worker_id="w1")
    await drain(pusher, db)
    ours = await db.fetchval("SELECT iys_transaction_id FROM consent_event")
    # İYS loses our accepted RET, and holds a movement we never saw (another integrator's)
    await _drift(sandbox, {"lose": [ours], "movement": {
        "brandCode": 700001, "recipient": BOB, "status": "ONAY", "source": "HS_WEB"}})
    client = IysClient(db, settings(sandbox))
    report = await reconcile_day(db, client, "acme", _today(sandbox))
    assert report["outcome"] == "drift"
    # what the mirror missed: BOB's ONAY, and ALICE's ONAY from before our service (seeded)
    assert report["applied"] == 2
    assert report["drift_rows"] == 1 and report["drift"][0]["transaction_id"] == ours
    assert report["drift"][0]["resent"] is True
    assert report["hash_ok"] is True and report["agreed_at"] is None
    assert sandbox.state.agreements == {}
    bob = await db.fetchrow("SELECT status, origin FROM iys_key_state WHERE recipient = $1", BOB)
    assert (bob["status"], bob["origin"]) == ("ONAY", "reconcile")
    assert await states(db) == ["pending"]              # sent again: not lost
    assert await db.fetchval("SELECT reconciled_day FROM iys_mirror_status") is None
    await drain(pusher, db)
    assert await states(db) == ["accepted"]
    assert sandbox.state.current[(700001, ALICE, "BIREYSEL", "MESAJ")].status == "RET"
    again = await reconcile_day(db, client, "acme", _today(sandbox))
    await client.close()
    assert (again["outcome"], again["drift_rows"], again["applied"]) == ("matched", 0, 0)
    assert again["agreed_at"] is not None and again["runs"] == 2
    assert sandbox.state.agreements == {(700001, _today(sandbox).isoformat()): True}
    assert await db.fetchval("SELECT reconciled_day FROM iys_mirror_status") == _today(sandbox)


async def test_a_matching_day_is_agreed_only_when_the_owner_chose_it(
        sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    await _seed_earlier(sandbox, ALICE)
    await add_event(db, ALICE, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    client = IysClient(db, settings(sandbox))
    first = await reconcile_day(db, client, "acme", _today(sandbox))   # setting: off
    assert (first["outcome"], first["agreed_at"]) == ("matched", None)
    assert sandbox.state.agreements == {}
    second = await reconcile_day(db, client, "acme", _today(sandbox), agree=True)
    await client.close()
    assert second["agreed_at"] is not None
    assert sandbox.state.agreements == {(700001, _today(sandbox).isoformat()): True}


async def test_a_file_that_does_not_match_its_hash_is_a_mismatch_never_agreed(
        sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    await _drift(sandbox, {"movement": {"brandCode": 700001, "recipient": BOB,
                                        "status": "ONAY", "source": "HS_WEB"}})
    sandbox.faults.path_contains = "/agreements/"
    sandbox.faults.next_errors.append("H103")            # no agreement answer this time
    client = IysClient(db, settings(sandbox))
    report = await reconcile_day(db, client, "acme", _today(sandbox), agree=True)
    await client.close()
    assert report["outcome"] == "mismatch" and report["agreed_at"] is None
    assert "hash" in report["detail"]
    assert sandbox.state.agreements == {}


def test_the_file_parser_names_every_row_that_is_not_a_movement() -> None:
    text = ("creationDate,transactionId,recipient,recipientType,type,status,consentDate,source\n"
            "2026-12-01 10:00:00,tx1,+905321234567,BIREYSEL,MESAJ,RET,2026-12-01 10:00:00,"
            "IYS_WEB\n"
            "2026-12-01 10:00:01,tx2,+905321234567,BIREYSEL,MESAJ,MAYBE,,HS_WEB\n")
    movements, bad = parse_file(text)
    assert [m.transaction_id for m in movements] == ["tx1"]
    assert bad == ["line 3: status: ONAY or RET"]


async def _lost_accepted_ret(sandbox: SandboxServer, db: asyncpg.Pool) -> str:
    """Our accepted RET, then İYS's file loses it."""
    await _seed_earlier(sandbox, ALICE)
    await add_event(db, ALICE, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    ours = await db.fetchval("SELECT iys_transaction_id FROM consent_event")
    await _drift(sandbox, {"lose": [ours]})
    return str(ours)


async def test_drift_past_the_three_business_days_is_reported_not_sent_again(
        sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    # İYS would refuse it (H467): sending it again would only fail an accepted event
    await _lost_accepted_ret(sandbox, db)
    await db.execute("UPDATE consent_event SET deadline_at = now() - interval '1 minute'")
    client = IysClient(db, settings(sandbox))
    report = await reconcile_day(db, client, "acme", _today(sandbox))
    await client.close()
    assert report["outcome"] == "drift" and report["drift"][0]["resent"] is False
    assert report["detail"] == ("1 accepted event(s) of ours missing from İYS's file: 0 sent "
                                "again, 1 past İYS's three business days: a person must check")
    assert await states(db) == ["accepted"]


async def test_drift_in_a_file_iys_does_not_vouch_for_is_not_sent_again(
        sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    # a short or broken file (no agreement hash to check it by) must not resend a whole day
    await _lost_accepted_ret(sandbox, db)
    sandbox.faults.path_contains = "/agreements/"
    sandbox.faults.next_errors.append("H103")
    client = IysClient(db, settings(sandbox))
    report = await reconcile_day(db, client, "acme", _today(sandbox))
    await client.close()
    assert report["outcome"] == "mismatch" and report["drift"][0]["resent"] is False
    assert report["detail"].endswith("1 not, as the file is not confirmed: a person must check")
    assert await states(db) == ["accepted"]

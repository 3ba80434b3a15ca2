"""Seeding the mirror through batch status, the CLI over the sandbox, and the mirror's
gauges and reconciliation deadlines."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

from iys_push import mirror_jobs
from iys_push.client import IysClient
from iys_push.sandbox.testing import SandboxServer, seed_consent
from iys_push.seed import recipients_of, seed
from iys_push.timefmt import TR
from tests.iys_push.conftest import settings

NUMBERS = [f"+90555{i:07d}" for i in range(2500)]


async def test_seeding_checks_every_number_in_chunks_and_fills_the_mirror(
        sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    onay = set(NUMBERS[::7])
    for recipient in onay:
        await seed_consent(sandbox, brand_code=700001, recipient=recipient)
    await db.execute("""INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type,
                            status, consent_date, source, origin)
                        VALUES (700001, $1, 'BIREYSEL', 'MESAJ', 'ONAY', now(), 'HS_MESAJ',
                                'push')""", NUMBERS[0])   # known and agreeing: left alone
    seen: list[int] = []
    client = IysClient(db, settings(sandbox))
    result = await seed(db, client, "acme", NUMBERS, requests_per_second=100,
                        progress=seen.append)
    await client.close()
    assert (result.checked, result.onay, result.requests) == (2500, len(onay), 3)
    assert seen == [1000, 1000, 500]
    assert result.changed == 2499
    rows = {r["recipient"]: (r["status"], r["origin"]) for r in await db.fetch(
        "SELECT recipient, status, origin FROM iys_key_state")}
    assert rows[NUMBERS[0]] == ("ONAY", "push")
    assert rows[NUMBERS[7]] == ("ONAY", "seed") and rows[NUMBERS[1]] == ("RET", "seed")
    assert len(rows) == 2500


def test_a_seed_file_is_normalised_deduplicated_and_its_bad_lines_named() -> None:
    lines = ["phone,name", "0532 123 45 67,Ali", "+905321234567", "", "12345", "905551112233"]
    recipients, invalid = recipients_of(lines, "MESAJ")
    assert recipients == ["+905321234567", "+905551112233"]
    assert invalid == ["12345"]


async def test_the_cli_seeds_and_reconciles_over_the_sandbox(
        sandbox: SandboxServer, db: asyncpg.Pool, dsn: str, tmp_path: Path) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=NUMBERS[0])
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("\n".join(NUMBERS[:3]) + "\n", encoding="utf-8")
    port = sandbox.url.rsplit(":", 1)[1]
    config = tmp_path / "c.toml"
    config.write_text(f"[iys]\nsandbox_port = {port}\n", encoding="utf-8")
    env = {"DATABASE_URL": dsn}

    async def cli(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "inbound.cli", "--config", str(config), *args,
            env={**__import__("os").environ, **env}, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
        return process.returncode or 0, out.decode() + err.decode()

    code, out = await cli("mirror", "seed", "--brand", "acme", "--no-progress", str(numbers))
    assert code == 0, out
    assert '"checked": 3' in out and '"onay": 1' in out
    today = sandbox.clock.now().astimezone(TR).date().isoformat()
    code, out = await cli("reconcile", "--brand", "acme", "--date", today)
    assert code == 0, out
    assert '"outcome": "matched"' in out and '"agreed_at": null' in out
    code, out = await cli("reconcile", "--brand", "acme", "--date", "2026-13-01")
    assert code != 0
    # the setting and the agreement are audited as the CLI's, as the API's are
    code, out = await cli("reconcile", "--brand", "acme", "--auto-agree", "on")
    assert code == 0, out
    code, out = await cli("reconcile", "--brand", "acme", "--date", today, "--agree")
    assert code == 0, out
    assert '"agreed_at": null' not in out
    audited = await db.fetch("SELECT action, resource, resource_id, actor_via, actor_admin "
                             "FROM config_audit WHERE resource IN ('brand', 'reconciliation') "
                             "ORDER BY id")
    assert [tuple(r) for r in audited] == [
        ("update", "brand", "acme", "cli", True),
        ("agree", "reconciliation", f"acme/{today}", "cli", True)]
    code, out = await cli("reconcile", "--brand", "nobody", "--auto-agree", "on")
    assert code != 0 and "nobody" in out


def test_a_day_is_due_by_noon_of_the_next_business_day() -> None:
    # Friday 2026-11-27 to Sunday: all due by Monday noon; on Monday morning Thursday is the
    # newest day due
    monday_morning = datetime(2026, 11, 30, 11, 0, tzinfo=TR)
    assert mirror_jobs.due_day(monday_morning) == date(2026, 11, 26)
    assert mirror_jobs.due_day(monday_morning.replace(hour=12)) == date(2026, 11, 29)
    assert mirror_jobs.days_behind(date(2026, 11, 27), monday_morning) == 2
    assert mirror_jobs.days_behind(None, monday_morning) == mirror_jobs.NEVER


async def test_gauges_show_pull_age_drift_and_an_overdue_day(db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO iys_mirror_status (brand_code, pulled_at, reconciled_day) "
                     "VALUES (700001, now() - interval '10 minutes', $1)",
                     datetime.now(UTC).astimezone(TR).date())
    await db.execute("INSERT INTO iys_reconciliation (brand_code, day, outcome, drift_rows) "
                     "VALUES (700001, $1, 'drift', 3)", date(2026, 11, 1))
    await mirror_jobs.update_gauges(db)
    assert 590 < mirror_jobs.PULL_AGE.labels("acme")._value.get() < 700
    assert mirror_jobs.DRIFT_ROWS.labels("acme")._value.get() == 3
    assert mirror_jobs.OVERDUE.labels("acme")._value.get() == 0
    assert mirror_jobs.OVERDUE.labels("beta")._value.get() == 1     # never reconciled
    assert mirror_jobs.DAYS_BEHIND.labels("beta")._value.get() == mirror_jobs.NEVER


async def test_the_hs_feed_recognises_our_own_pushes_and_keeps_their_origin(
        sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    from iys_push.puller import Puller
    from iys_push.pusher import Pusher
    from tests.iys_push.conftest import ALICE, BOB, add_event, drain

    sandbox.clock.advance(-5)   # the seed a few seconds before our push (its own tx id)
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    sandbox.clock.advance(5)
    await add_event(db, ALICE, "RET")
    await drain(Pusher(db, "", settings(sandbox), worker_id="w1"), db)
    async with __import__("aiohttp").ClientSession() as http, http.post(
            sandbox.url + "/_sandbox/reconciliation-drift", json={"movement": {
                "brandCode": 700001, "recipient": BOB, "status": "ONAY",
                "source": "HS_WEB"}}) as resp:   # another integrator's, unknown here
        assert resp.status == 200
    sandbox.clock.advance(2 * 3600)   # out of the hour the feed hides
    puller = Puller(db, settings(sandbox))
    new = await puller.pull_once(700001, 700001)
    await puller.client.close()
    assert new == 2                      # ALICE's earlier ONAY and BOB's: not our RET
    ours = await db.fetch("SELECT recipient, status, ours, channel FROM iys_change "
                          "WHERE ours")
    assert [(r["recipient"], r["status"], r["channel"]) for r in ours] == [
        (ALICE, "RET", "pull_hs")]
    views = {r["recipient"]: (r["status"], r["origin"]) for r in await db.fetch(
        "SELECT recipient, status, origin FROM iys_key_state")}
    assert views == {ALICE: ("RET", "push"), BOB: ("ONAY", "pull")}


async def test_the_daily_pass_runs_each_day_once_until_it_matches(db: asyncpg.Pool) -> None:
    from iys_push.mirror_settings import MirrorSettings
    from iys_push.sandbox import SandboxConfig

    async with SandboxServer(SandboxConfig(requests_per_second=0)) as sb:
        client = IysClient(db, settings(sb, requests_per_second=500.0))
        ran = await mirror_jobs.reconcile_pass(db, client, MirrorSettings())
        again = await mirror_jobs.reconcile_pass(db, client, MirrorSettings())
        await client.close()
    assert ran == 2 * 7 and again == 0   # two brands, seven days; then all matched
    assert await db.fetchval("SELECT count(*) FROM iys_reconciliation "
                             "WHERE outcome = 'matched'") == 14

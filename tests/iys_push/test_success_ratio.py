"""Issue #24 item 7: the success ratio from the stored attempts of all processes, per egress
label, counted as İYS counts it (IYS_API.md §6: only 400/401/403/404/422 fail)."""

from __future__ import annotations

import asyncpg
import pytest

from iys_push import metrics, store
from iys_push.client import IysClient, TokenUnavailable
from iys_push.gauges import update_success_ratio
from iys_push.sandbox.testing import SandboxServer, seed_consent
from tests.iys_push.conftest import ALICE, BOB, settings


def gauge(egress: str) -> float:
    return metrics.SUCCESS_RATIO.labels(egress)._value.get()


async def test_attempts_of_every_process_count_together_per_egress_label(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    await seed_consent(sandbox, brand_code=700001, recipient=ALICE)
    first = IysClient(db, settings(sandbox, egress_label="ip-a"))    # two processes behind
    second = IysClient(db, settings(sandbox, egress_label="ip-a"))   # one egress IP
    other = IysClient(db, settings(sandbox, egress_label="ip-b"))    # a third, another IP
    try:
        # first: a token call (200), a status query (200), a refused status query (422 H464)
        assert await first.onay_recipients(700001, 700001, "BIREYSEL", "MESAJ",
                                           [ALICE]) == {ALICE}
        with pytest.raises(ConnectionError):
            await first.onay_recipients(700001, 700001, "BIREYSEL", "MESAJ", ["not-a-phone"])
        # second: the shared token, a stored-date query (200) and one for an unknown key
        # (the sandbox's 404: counts against, which is why the pusher never asks that)
        assert (await second.consent_status(700001, 700001, ALICE, "BIREYSEL", "MESAJ")).ok
        assert (await second.consent_status(700001, 700001, BOB, "BIREYSEL", "MESAJ")
                ).status == 404
        assert (await other.changes(700001, 700001, None)).status == 204
    finally:
        for client in (first, second, other):
            await client.close()
    rows = await db.fetch("SELECT egress, kind, http_status FROM iys_attempt ORDER BY id")
    assert [(r["egress"], r["kind"], r["http_status"]) for r in rows] == [
        ("ip-a", "token", 200), ("ip-a", "status", 200), ("ip-a", "status", 422),
        ("ip-a", "status_date", 200), ("ip-a", "status_date", 404), ("ip-b", "pull", 204)]
    assert await update_success_ratio(db, "ip-a") == pytest.approx(3 / 5)
    assert gauge("ip-a") == pytest.approx(3 / 5)
    assert metrics.REQUESTS_24H.labels("ip-a")._value.get() == 5
    assert await update_success_ratio(db, "ip-b") == 1.0


async def test_a_refused_token_call_counts_against_and_5xx_429_and_silence_do_not(
    sandbox: SandboxServer, db: asyncpg.Pool
) -> None:
    wrong = IysClient(db, settings(sandbox, username="someone-else", egress_label="ip-c"))
    try:
        with pytest.raises(TokenUnavailable):
            await wrong.access_token()          # 400 invalid credentials
    finally:
        await wrong.close()
    client = IysClient(db, settings(sandbox, egress_label="ip-c", timeout=0.5))
    try:
        await client.access_token()             # 200
        sandbox.faults.next_errors.extend(["H103", "H124"])
        for _ in range(2):                       # 500, then 429: not İYS's failures
            assert (await client.changes(700001, 700001, None)).status in (500, 429)
        sandbox.faults.hang_next, sandbox.faults.hang_seconds = 1, 1.5
        assert (await client.changes(700001, 700001, None)).status is None  # no answer
    finally:
        await client.close()
    statuses = [r["http_status"] for r in await db.fetch(
        "SELECT http_status FROM iys_attempt WHERE egress = 'ip-c' ORDER BY id")]
    assert statuses == [400, 200, 500, 429, None]
    # answered: 400, 200, 500, 429; refused: the 400 only; the unanswered one in neither
    assert await update_success_ratio(db, "ip-c") == pytest.approx(3 / 4)


async def test_the_window_is_24_hours_and_read_by_an_index_range_scan(db: asyncpg.Pool) -> None:
    await db.execute(
        """INSERT INTO iys_attempt (started_at, latency_ms, method, path, http_status, outcome,
                                    egress, kind)
           SELECT now() - (i % 48) * interval '1 hour' - interval '1 minute', 1, 'POST', '/x',
                  CASE WHEN i % 4 = 0 THEN 422 ELSE 200 END, 'ok',
                  CASE WHEN i % 3 = 0 THEN 'ip-b' ELSE 'ip-a' END, 'add'
             FROM generate_series(1, 120000) AS i""")
    await db.execute("VACUUM ANALYZE iys_attempt")
    expected = await db.fetchrow(
        "SELECT count(*) AS answered, count(*) FILTER (WHERE http_status = 422) AS refused "
        "FROM iys_attempt WHERE egress = 'ip-a' "
        "AND started_at > now() - interval '24 hours'")
    assert 0 < expected["answered"] < 80000   # the older half is outside the window
    ratio = await update_success_ratio(db, "ip-a")
    assert ratio == pytest.approx(1 - expected["refused"] / expected["answered"])
    plan = "\n".join(r[0] for r in await db.fetch(
        "EXPLAIN " + store.SQL.success_ratio_24h, "ip-a", [400, 401, 403, 404, 422]))
    # iys_attempt is partitioned by month (migrations/0018): the month holding the rows is
    # read by its copy of iys_attempt_egress_window_idx; the empty months cost nothing
    assert "Index Only Scan using iys_attempt_" in plan, plan
    assert "egress_started_at_http_status_idx" in plan, plan
    assert all("rows=1 " in line for line in plan.splitlines() if "Seq Scan" in line), plan

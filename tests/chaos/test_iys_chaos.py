"""Chaos on the İYS side, with the real processes: ``iys-inbound run`` (one or two), the İYS
sandbox as a process of its own (``iys-inbound sandbox-iys``) and the SMSC peer
(``tests/peer/smsc.js``, npm ``smpp``).

* An İYS outage of a simulated business day, going on into the deadline day: every RET is
  accepted before its deadline once İYS is back, and the alerts' inputs (scraped from the
  service's ``/metrics`` during the outage) say what ``deploy/prometheus/alerts.yml`` needs.
* Two service processes on one database, the link owner killed with SIGKILL during load:
  the other takes the link over (the peer re-sends what was unanswered) and the killed one's
  claimed events (their lease expires); every MO stored once, every event in İYS once.

Small versions run in ``make test``; ``make chaos`` (``IYS_CHAOS_FULL=1``) runs larger
loads. Every test prints what it checked and the counts it found (``pytest -s``).

The service's clock cannot be moved (it is the machine's and PostgreSQL's ``now()``). When
the sandbox's clock is moved forward by a business day, the service follows by moving the
deadline of every pending event back by the same amount: every comparison the service makes
of "now" with a deadline (pre-validation, back-off near a deadline, the deadline gauges the
alerts read) then sees the day gone, while what is sent to İYS (received_at, consentDate)
stays the real moment, which the sandbox, one day ahead, judges with İYS's own rule (H467).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench.harness import PEER_PASSWORD, free_port, service_config, service_process
from iys_push.calendar import add_business_days
from iys_push.timefmt import TR, parse_iys
from tests.chaos.iys import Metrics, key, sandbox_process, wait_metrics
from tests.chaos.load import FULL, ChaosLoad, scaled, sender
from tests.chaos.test_chaos import check_exactly_once, stored
from tests.smsc_peer import NodeSmsc, SmscPeerUnavailable, ensure_installed
from tests.waiting import wait_until

try:
    ensure_installed()
except SmscPeerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)

LOAD_TIMEOUT = 240 if FULL else 40
DAY = 86400.0


def e164(i: int) -> str:
    return "+" + sender(i)


async def db_count(dsn: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def service_follows_clock(dsn: str, seconds: float) -> None:
    """The service's side of moving the clock forward (see the module docstring)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE consent_event SET deadline_at = deadline_at - "
                           "make_interval(secs => $1) WHERE state = 'pending'", seconds)
    finally:
        await conn.close()


async def frozen_holding_leases(dsn: str, pid: int, worker: str, timeout: float) -> list[int]:
    """Stop ``pid`` (SIGSTOP) at a moment it holds leased (claimed, unsettled) events; returns
    their ids. The process stays stopped (its sessions, locks and leases intact)."""
    deadline = time.monotonic() + timeout
    while True:
        os.kill(pid, signal.SIGSTOP)
        conn = await asyncpg.connect(dsn)
        try:
            ids = [r[0] for r in await conn.fetch(
                "SELECT id FROM consent_event WHERE state = 'pending' AND lease_owner LIKE $1 "
                "AND lease_until > now()", worker)]
        finally:
            await conn.close()
        if ids:
            return ids
        os.kill(pid, signal.SIGCONT)
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} never held a lease within {timeout}s")
        await asyncio.sleep(0.02)   # poll interval of a condition wait with a deadline


def alerts(m: Metrics, backlog_before: float) -> dict[str, dict[str, Any]]:
    """deploy/prometheus/alerts.yml evaluated on one scrape (their ``for:`` durations aside):
    each alert's inputs and whether its expression holds."""
    responses = m.total("iys_inbound_iys_responses_total", lambda _: True)
    refused = m.total("iys_inbound_iys_responses_total",
                      lambda lab: lab.get("status") in {"400", "401", "403", "404", "422"})
    ratio = 1 - refused / responses if responses else 1.0
    backlog = m.value("iys_inbound_backlog_events")
    nearest = m.value("iys_inbound_ret_deadline_nearest_seconds")
    overdue = m.value("iys_inbound_events_overdue")
    failures = m.value("iys_inbound_iys_business_failures_total")
    token = m.value("iys_inbound_iys_token_state")
    return {
        "IysInboundBacklogGrowing": {"backlog": backlog, "backlog_at_outage_start":
                                     backlog_before,
                                     "fires": backlog > backlog_before and backlog > 100},
        "IysInboundRetDeadlineNear": {"nearest_ret_deadline_s": round(nearest),
                                      "fires": nearest < DAY},
        "IysInboundRetOverdue": {"overdue": overdue, "fires": overdue > 0},
        "IysInboundIysSuccessRatioLow": {"success_ratio": round(ratio, 3),
                                         "responses": responses, "fires": ratio < 0.9},
        "IysInboundBusinessRuleFailure": {"failures": failures, "fires": failures > 0},
        "IysInboundTokenHalted": {"token_state": token, "fires": token == 2},
    }


def firing(a: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(name for name, x in a.items() if x["fires"])


async def test_iys_outage_of_a_business_day_every_ret_accepted_before_its_deadline(
    dsn: str, tmp_path: Path
) -> None:
    n = scaled(150, 2000)          # above the backlog alert's 100 and the batch threshold
    started = time.monotonic()
    async with sandbox_process(batch_result_delay=2) as sb, \
            NodeSmsc(password=PEER_PASSWORD) as smsc:
        await sb.seed_onay([e164(i) for i in range(n)])   # each RET withdraws a real ONAY
        sb_now = await sb.now()
        await sb.faults(outage_from=(sb_now - timedelta(hours=1)).isoformat(),
                        outage_until=(sb_now + timedelta(days=30)).isoformat())
        http = free_port()
        metrics_url = f"http://127.0.0.1:{http}/metrics"
        config = service_config(tmp_path / "service.toml", smsc.port, iys_url=sb.url,
                                batch_poll_delay=1, http_port=http)
        async with service_process(config, dsn, tmp_path / "service.log"):
            await smsc.wait_bound(timeout=30)
            m0 = await wait_metrics(metrics_url, lambda _: True, 30, "the service's /metrics")
            backlog_before = m0.value("iys_inbound_backlog_events")
            load = ChaosLoad(smsc, n)
            await load.run(LOAD_TIMEOUT)
            # İYS is down: every request answered 503 H192, the events wait
            await wait_metrics(
                metrics_url, lambda m: m.value("iys_inbound_backlog_events") == n
                and m.value("iys_inbound_iys_responses_total", status="503") > 0,
                30, "the outage to show in the backlog and the 503 answers")
            conn = await asyncpg.connect(dsn)
            try:
                deadlines = {r["recipient"]: r["deadline_at"] for r in await conn.fetch(
                    "SELECT recipient, deadline_at FROM consent_event")}
            finally:
                await conn.close()
            deadline = min(deadlines.values())

            # a business day goes by with İYS still down
            now_tr = datetime.now(TR)
            day1 = datetime.combine(add_business_days(now_tr.date(), 1), now_tr.time(), TR)
            shift1 = (day1 - now_tr).total_seconds()
            await sb.advance_clock(shift1)
            await service_follows_clock(dsn, shift1)
            left1 = (deadline - now_tr).total_seconds() - shift1
            m1 = await wait_metrics(
                metrics_url,
                lambda m: m.value("iys_inbound_ret_deadline_nearest_seconds") < left1 + 60,
                30, "the nearest-deadline gauge to show the day gone")
            after_day = alerts(m1, backlog_before)

            # ... and on into the morning of the deadline day
            day2 = datetime.combine(deadline.astimezone(TR).date(),
                                    datetime.min.time().replace(hour=9), TR)
            shift2 = (day2 - day1).total_seconds()
            await sb.advance_clock(shift2)
            await service_follows_clock(dsn, shift2)
            m2 = await wait_metrics(
                metrics_url, lambda m: m.value("iys_inbound_ret_deadline_nearest_seconds") < DAY,
                30, "the nearest-deadline gauge to show the deadline day")
            deadline_day = alerts(m2, backlog_before)
            responses_503 = m2.value("iys_inbound_iys_responses_total", status="503")
            retries = m2.value("iys_inbound_iys_retries_total")
            sandbox_503 = sum(v for k, v in (await sb.state())["requests"].items()
                              if k.endswith(" 503"))

            # İYS is back
            recovered_at = time.monotonic()
            await sb.faults(outage_from=None, outage_until=None)
            await wait_until(
                lambda: db_count(dsn, "SELECT count(*) = $1 FROM consent_event "
                                 "WHERE state = 'accepted'", n),
                timeout=scaled(90, 400), what="every RET accepted after the outage")
            recovery_s = time.monotonic() - recovered_at
            # the gauges are refreshed every 5 s: wait for the backlog to read empty
            m3 = await wait_metrics(metrics_url,
                                    lambda m: m.value("iys_inbound_backlog_events") == 0,
                                    30, "the backlog gauge to read 0")
            after_recovery = alerts(m3, n)

        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT recipient, state, updated_at, deadline_at, "
                                    "iys_transaction_id FROM consent_event")
            late_in_db = sum(1 for r in rows if r["updated_at"] > r["deadline_at"])
            attempts = await conn.fetchval("SELECT count(*) FROM iys_attempt")
        finally:
            await conn.close()
        state = await sb.state()
        rets = {m["recipient"]: m for m in state["movement_list"] if m["status"] == "RET"}
        late_in_iys = sum(1 for r, d in deadlines.items()
                          if r not in rets or parse_iys(rets[r]["creationDate"]) > d)
        per_key = state["movements_per_key"]
        wrong_keys = sum(1 for i in range(n) if per_key.get(key(e164(i))) != 2)
        tx_mismatch = sum(1 for r in rows if rets.get(r["recipient"], {}).get("transactionId")
                          != r["iys_transaction_id"])

    print(f"\n[chaos] İYS outage of a business day, on into the deadline day: N={n} RET, "
          f"{time.monotonic() - started:.1f} s\n"
          f"  load: {load.summary()}\n"
          f"  clock: sandbox +{shift1 / 3600:.1f} h (next business day) then +{shift2 / 3600:.1f}"
          f" h (09:00 on the deadline day {day2.date()}); service deadlines moved back alike\n"
          f"  during the outage: {responses_503:.0f} answers 503 seen by the service "
          f"({sandbox_503} counted by the sandbox), {retries:.0f} retries scheduled\n"
          f"  alerts after one business day: firing {firing(after_day)}; {after_day}\n"
          f"  alerts on the deadline day: firing {firing(deadline_day)}; {deadline_day}\n"
          f"  alerts after recovery: firing {firing(after_recovery)}\n"
          f"  recovery: all {n} accepted {recovery_s:.1f} s after İYS came back; "
          f"{attempts} İYS attempts recorded\n"
          f"  checked: every RET accepted once in İYS (seeded ONAY + our RET per key: "
          f"{n - wrong_keys}/{n}), transactionIds match ({n - tx_mismatch}/{n}), accepted "
          f"before its deadline in the DB ({n - late_in_db}/{n}) and by the sandbox's "
          f"creationDate ({n - late_in_iys}/{n})")
    assert {r["state"] for r in rows} == {"accepted"} and len(rows) == n
    assert wrong_keys == 0 and tx_mismatch == 0
    assert late_in_db == 0 and late_in_iys == 0
    assert responses_503 > 0 and sandbox_503 > 0
    assert firing(after_day) == ["IysInboundBacklogGrowing"]
    assert firing(deadline_day) == ["IysInboundBacklogGrowing", "IysInboundRetDeadlineNear"]
    assert firing(after_recovery) == []


async def test_two_processes_owner_killed_every_mo_stored_and_pushed_once(
    dsn: str, tmp_path: Path
) -> None:
    n = scaled(500, 5000)
    started = time.monotonic()
    async with sandbox_process(batch_result_delay=1) as sb, \
            NodeSmsc(password=PEER_PASSWORD, redeliver_on_rebind=True) as smsc:
        # one configuration, one database, two processes; a dead process's leases expire
        # after 5 s (production: 60 s) so the small version stays short, which the
        # configuration allows with İYS requests timing out after 1 s (the sandbox is local)
        config = service_config(tmp_path / "service.toml", smsc.port, iys_url=sb.url,
                                batch_poll_delay=1, lease_seconds=5, iys_timeout=1)
        load = ChaosLoad(smsc, n, text="IZIN ACME")
        # every İYS answer 0.3 s late until the owner is frozen: a claim then stays leased
        # while its request is on the way (a local sandbox answers in a few milliseconds, too
        # short a window to stop the process in). A request the sandbox records while the
        # owner is stopped is resent by the survivor: v2 resends are idempotent.
        await sb.faults(latency=0.3)
        async with service_process(config, dsn, tmp_path / "first.log") as first:
            await smsc.wait_bound(timeout=30)
            second_log = tmp_path / "second.log"
            async with service_process(config, dsn, second_log) as second:
                async def second_running() -> bool:
                    return "iys-inbound is running" in second_log.read_text(errors="replace")

                await wait_until(second_running, timeout=30, what="the second process")
                # first a few messages, then the owner is stopped (SIGSTOP) at a moment it
                # holds claimed events, then the rest of the load goes to the stopped owner
                # (full version: a third of the load goes through and is pushed by both
                # before that). While the owner's claims are caught, the second process is
                # paused too: both pushers claim, and the one woken first (the other may be in
                # its pace pause) would otherwise take all 40 events in one round.
                before = n // 3 if FULL else 0
                first_part = before + 40
                if not before:
                    os.kill(second.pid, signal.SIGSTOP)
                await load.allow(before or first_part)
                async with load.running(LOAD_TIMEOUT) as runner:
                    if before:
                        await load.until(lambda: load.acknowledged() >= before, 60,
                                         "a third of the load acknowledged")
                        await wait_until(
                            lambda: db_count(dsn, "SELECT count(*) = $1 FROM consent_event "
                                             "WHERE state = 'accepted'", before),
                            timeout=120, what="a third of the load pushed")
                        os.kill(second.pid, signal.SIGSTOP)
                        await load.allow(first_part)
                    first_worker = f"%:{first.pid}"
                    try:
                        await load.until(lambda: load.acknowledged() >= first_part, 30,
                                         "the first messages acknowledged")
                        held = await frozen_holding_leases(dsn, first.pid, first_worker,
                                                           timeout=30)
                    finally:
                        os.kill(second.pid, signal.SIGCONT)
                    await sb.faults(latency=0)
                    await load.allow(None)
                    await load.until(lambda: len(load.waiting) >= 50, 30,
                                     "the load in flight to the stopped owner")
                    at_kill = {"acknowledged": load.acknowledged(),
                               "unanswered": len(load.waiting),
                               "events_stored": await db_count(
                                   dsn, "SELECT count(*) FROM consent_event"),
                               "accepted": await db_count(
                                   dsn, "SELECT count(*) FROM consent_event "
                                   "WHERE state = 'accepted'"),
                               "leased_by_the_killed_process": len(held)}
                    first.kill()                   # SIGKILL: its locks go with its sessions
                    assert await first.wait() == -9
                    await smsc.wait_bound(timeout=30)   # the second process binds the link
                    taken_over_s = time.monotonic()
                    await runner
                await wait_until(
                    lambda: db_count(dsn, "SELECT count(*) = $1 FROM consent_event "
                                     "WHERE state = 'accepted'", n),
                    timeout=scaled(60, 300), what="every event accepted by the survivor")
                settled_s = time.monotonic() - taken_over_s
                left_by_first = await db_count(
                    dsn, "SELECT count(*) FROM consent_event WHERE lease_owner LIKE $1",
                    first_worker)
                held_accepted = await db_count(
                    dsn, "SELECT count(*) FROM consent_event WHERE id = ANY($1::bigint[]) "
                    "AND state = 'accepted' AND iys_transaction_id IS NOT NULL", held)
        second_owned = "link owned by this process" in second_log.read_text(errors="replace")
        found = await stored(dsn)
        per_key = await sb.movements_per_key()
        state = await sb.state()
        adds = sum(v for k, v in state["requests"].items()
                   if k.startswith("POST") and k.endswith(("/consents 200",
                                                           "/consents/request 202")))
        once = sum(1 for i in range(n) if per_key.get(key(e164(i))) == 1)
        extra_keys = len(per_key) - once

    shown = {k: v for k, v in found.items() if k != "senders"}
    print(f"\n[chaos] two processes on one database, the link owner killed (SIGKILL): N={n} "
          f"IZIN, {time.monotonic() - started:.1f} s\n"
          f"  load: {load.summary()}\n  at the kill: {at_kill}\n"
          f"  the second process took the link over: {second_owned}; everything accepted "
          f"{settled_s:.1f} s after its bind; the {len(held)} events the killed process had "
          f"claimed: {held_accepted} accepted by the survivor after their lease (5 s) ran "
          f"out; leases still held by the dead process: {left_by_first}\n  stored: {shown}\n"
          f"  İYS: {once}/{n} keys with exactly one movement, {extra_keys} other keys; "
          f"{adds} add/batch requests accepted\n"
          f"  checked: every MO acknowledged and stored once (mo_message = distinct senders = "
          f"N, one event each); every event accepted; every key exactly once in İYS")
    assert at_kill["acknowledged"] < n                 # the kill really was mid-load
    assert second_owned and left_by_first == 0
    assert held and held_accepted == len(held)         # its claimed events were taken over
    check_exactly_once(found, n)
    assert once == n and extra_keys == 0

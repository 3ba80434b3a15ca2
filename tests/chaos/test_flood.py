"""Bounded memory against an SMSC that floods: deliver_sm written without waiting for any
response, each throttled one written again 20 ms later (bench/flood.py, bench/peer.js).

The service is the real thing (``iys-inbound run`` as a subprocess). For a moment the test
holds its commits back (a lock on ``sms_in``), so the bound is reached on any machine; while
they are held, an enquire_link is still answered. Checked: at most ``max_uncommitted`` PDUs
ever waited for their commit, PDUs beyond it were answered ESME_RTHROTTLED (counted in the
metric), the link stayed bound, every PDU was acknowledged 0 in the end and is stored exactly
once. The service's RSS is printed (``pytest -s``): before, peak, after.
Small in ``make test`` (3,000 MO); ``make chaos`` (``IYS_CHAOS_FULL=1``) floods 100,000.
"""

from __future__ import annotations

import time
from pathlib import Path

import asyncpg
import pytest

from bench.flood import FloodSettings, flood_once, line, scrape, throttled_total
from bench.harness import PEER_PASSWORD, BenchSmsc
from tests.chaos.load import FULL, scaled
from tests.smsc_peer import SmscPeerUnavailable, ensure_installed
from tests.waiting import wait_until

try:
    ensure_installed()
except SmscPeerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)

N = scaled(3000, 100_000)
LIMIT = 100  # max_uncommitted (window 50): two windows, so the bound is reached quickly


async def test_a_flood_is_throttled_within_the_bound_and_every_pdu_is_stored_once(
    dsn: str, tmp_path: Path
) -> None:
    held: dict[str, float] = {}

    async def hold_commits_back(smsc: BenchSmsc, http_port: int) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE sms_in IN ACCESS EXCLUSIVE MODE")
                started = time.monotonic()

                async def throttling() -> bool:
                    return throttled_total(await scrape(http_port)) >= 1

                await wait_until(throttling, timeout=30, what="the first throttled PDU")
                # the queue is full and no commit can return: reading must go on
                seq = await smsc.enquire()
                await smsc.wait_event("enquire_link_resp", lambda e: e["seq"] == seq)
                held["seconds"] = time.monotonic() - started
        finally:
            await conn.close()

    settings = FloodSettings(n=N, runs=1, max_uncommitted=LIMIT)
    async with BenchSmsc(password=PEER_PASSWORD) as smsc:
        run = await flood_once(smsc, tmp_path, dsn, settings, during=hold_commits_back)
    print(f"\n[flood] {line(run)}\n  held commits back {held['seconds']:.2f} s; "
          f"peer sent {run['sent']:,} deliver_sm for {run['n']:,} MO, at most "
          f"{run['peer_max_outstanding']:,} unanswered; RSS samples {run['rss_samples']}")
    assert run["reason"] == "complete" and run["acked"] == N
    assert run["errors"] == 0                      # every refusal was a throttle
    assert run["throttled"] >= 1
    assert run["throttled_metric"] == run["throttled"]
    assert run["sent"] == N + run["throttled"]
    assert 0 < run["uncommitted_peak"] <= LIMIT
    assert run["binds_during"] == 0 and run["closes_during"] == 0  # the link stayed bound
    # every PDU stored exactly once: nothing throttled was stored, no resend is a redelivery
    assert run["stored"] == {"sms_in": N, "redeliveries": 0, "mo_message": N,
                             "distinct_senders": N}
    if FULL:
        # measured: a plain 100,000-MO load grows the service by ~25 MB to its steady state
        # (caches, allocator arenas); without the bound this flood queued 52,054 PDUs and
        # grew it by 58 MB (DESIGN-NOTES, "Bounded memory")
        assert run["rss_peak_mb"] - run["rss_before_mb"] < 45, run

"""The flood row: an SMSC that writes deliver_sm without waiting for any response.

``iys-inbound run`` (subprocess, one link, window 50, ``max_uncommitted`` its default of
4 windows unless given; the İYS sandbox in a process of its own) is bound to the benchmark
SMSC (``bench/peer.js``) in flood mode: N deliver_sm, each from a new sender, written
``burst`` at a time with no window; every one answered with an error (ESME_RTHROTTLED) is
written again after ``retry_ms``, as an SMSC does, until all N are acknowledged with
ESME_ROK. Measured: MO/s acknowledged, PDUs throttled, the service's RSS (sampled from /proc
every 20 ms: before, peak, after), the most PDUs that waited for their commit (the
service's ``iys_inbound_smpp_uncommitted_peak``), an enquire_link's round trip in the middle
of the flood, and what was stored.

Shared by ``make bench`` (section ``flood``) and tests/chaos/test_flood.py, which also
holds the commits back for a moment (a lock on ``sms_in``) so that the bound is reached
whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.harness import (
    IYS_INBOUND,
    MO_FIELDS,
    PEER_PASSWORD,
    ROOT,
    BenchSmsc,
    free_port,
    service_config,
    service_process,
    wait_listening,
)
from tests.processes import stop_process

RSS_SAMPLE_SECONDS = 0.02
WARMUP = 500


@dataclass
class FloodSettings:
    n: int = 100_000
    runs: int = 3
    burst: int = 500          # deliver_sm written per turn of the peer's event loop
    retry_ms: float = 20      # the peer's wait before re-sending a throttled PDU
    window: int = 50
    max_uncommitted: int | None = None  # None: the service's default (4 windows)

    @classmethod
    def from_env(cls) -> FloodSettings:
        env = os.environ
        limit = env.get("BENCH_FLOOD_MAX_UNCOMMITTED")
        return cls(n=int(env.get("BENCH_FLOOD_N", "100000")),
                   runs=max(1, int(env.get("BENCH_FLOOD_RUNS", "3"))),
                   burst=int(env.get("BENCH_FLOOD_BURST", "500")),
                   retry_ms=float(env.get("BENCH_FLOOD_RETRY_MS", "20")),
                   max_uncommitted=int(limit) if limit else None)


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples a process's RSS in the background (a measurement, not a synchronisation)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.samples.append(rss_bytes(self.pid))
            await asyncio.sleep(RSS_SAMPLE_SECONDS)

    @contextlib.asynccontextmanager
    async def sampling(self) -> AsyncIterator[RssSampler]:
        self._task = asyncio.create_task(self._run())
        try:
            yield self
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self.samples.append(rss_bytes(self.pid))


async def scrape(http_port: int) -> dict[str, float]:
    """The service's /metrics, as {"name{labels}": value} for the link's series we read."""
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{http_port}/metrics") as resp:
        text = await resp.text()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("iys_inbound_smpp_") and 'link="peer"' in line:
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values


def throttled_total(values: dict[str, float]) -> int:
    return int(values.get('iys_inbound_smpp_throttled_total{link="peer"}', 0))


def uncommitted_peak(values: dict[str, float]) -> int:
    return int(values.get('iys_inbound_smpp_uncommitted_peak{link="peer"}', 0))


async def stored(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return await stored_on(conn)
    finally:
        await conn.close()


async def stored_on(conn: asyncpg.Connection) -> dict[str, int]:
    """What a storing row really stored (the SMPP section's plain row counts the same)."""
    return {
        "sms_in": await conn.fetchval("SELECT count(*) FROM sms_in"),
        "redeliveries": await conn.fetchval(
            "SELECT count(*) FROM sms_in WHERE redelivery_of IS NOT NULL"),
        "mo_message": await conn.fetchval("SELECT count(*) FROM mo_message"),
        "distinct_senders": await conn.fetchval(
            "SELECT count(DISTINCT source_addr) FROM mo_message"),
    }


# called with the running service's http port once the flood is under way (before it ends)
DuringFlood = Callable[[BenchSmsc, int], Awaitable[None]]


@contextlib.asynccontextmanager
async def sandbox_process() -> AsyncIterator[str]:
    """The İYS sandbox in a process of its own, as İYS is remote in production: the
    movements it keeps in memory are then not counted in the service's RSS."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        str(IYS_INBOUND), "sandbox-iys", "--port", str(port), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=str(ROOT))
    try:
        await wait_listening(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        await stop_process(proc, proc.terminate, 10)


async def flood_once(smsc: BenchSmsc, tmpdir: Path, dsn: str, s: FloodSettings, *,
                     log_level: str = "info", during: DuringFlood | None = None,
                     ) -> dict[str, Any]:
    """One run against a fresh service process on ``dsn``: warm-up, then the flood.
    ``during``, if given, runs while the flood does (the test holds commits back in it)."""
    async with sandbox_process() as iys_url:
        return await _flood_once(smsc, tmpdir, dsn, s, log_level, during, iys_url)


async def _flood_once(smsc: BenchSmsc, tmpdir: Path, dsn: str, s: FloodSettings,
                      log_level: str, during: DuringFlood | None, iys_url: str
                      ) -> dict[str, Any]:
    http_port = free_port()
    config = service_config(tmpdir / "flood.toml", smsc.port, window=s.window,
                            log_level=log_level, http_port=http_port, iys_url=iys_url)
    if s.max_uncommitted is not None:  # the [[link]] table is the file's last
        with config.open("a", encoding="utf-8") as out:
            out.write(f"max_uncommitted = {s.max_uncommitted}\n")
    async with service_process(config, dsn, tmpdir / "flood-service.log") as proc:
        await smsc.wait_bound(timeout=60)
        await wait_listening(http_port)
        binds_before = smsc.count("bind", lambda e: e["status"] == 0)
        closes_before = smsc.count("close")
        await smsc.load(WARMUP, 10, **MO_FIELDS)  # statements prepared, caches warm
        before = await stored(dsn)
        metrics_before = await scrape(http_port)
        sampler = RssSampler(proc.pid)
        baseline = rss_bytes(proc.pid)
        async with sampler.sampling():
            flood = asyncio.create_task(smsc.flood(s.n, burst=s.burst, retry_ms=s.retry_ms,
                                                   numbered=False, timeout=1800,
                                                   **MO_FIELDS))
            enquire_ms = None
            try:
                if during is not None:
                    await during(smsc, http_port)
                started = time.monotonic()
                seq = await smsc.enquire()
                await smsc.wait_event("enquire_link_resp", lambda e: e["seq"] == seq,
                                      timeout=30)
                enquire_ms = (time.monotonic() - started) * 1000
                done = await flood
            finally:
                flood.cancel()
        metrics_after = await scrape(http_port)
        binds = smsc.count("bind", lambda e: e["status"] == 0) - binds_before
        closes = smsc.count("close") - closes_before
    after = await stored(dsn)
    samples = sampler.samples
    return {
        "n": s.n, "window": s.window, "burst": s.burst, "retry_ms": s.retry_ms,
        "max_uncommitted": s.max_uncommitted or 4 * s.window,
        "acked": done["acked"], "reason": done["reason"], "seconds": done["seconds"],
        "rate": done["rate"], "sent": done["sent"], "errors": done["errors"],
        "throttled": done["throttled"],
        "throttled_metric": throttled_total(metrics_after) - throttled_total(metrics_before),
        "uncommitted_peak": uncommitted_peak(metrics_after),
        "peer_max_outstanding": done["max_outstanding"],
        "rss_before_mb": round(baseline / 2**20, 1),
        "rss_peak_mb": round(max(samples) / 2**20, 1),
        "rss_after_mb": round(samples[-1] / 2**20, 1),
        "rss_samples": len(samples),
        "enquire_link_ms": None if enquire_ms is None else round(enquire_ms, 1),
        "binds_during": binds, "closes_during": closes,
        "stored": {k: after[k] - before[k] for k in after},
        "warmup": WARMUP,
    }


def line(run: dict[str, Any]) -> str:
    """One run as printed by ``make bench`` and the chaos test."""
    return (f"flood N={run['n']:,} (burst {run['burst']}, max_uncommitted "
            f"{run['max_uncommitted']}): {run['rate']:,.0f} MO/s acked, "
            f"{run['throttled']:,} throttled, peak RSS {run['rss_peak_mb']} MB "
            f"(before {run['rss_before_mb']}, after {run['rss_after_mb']}), waiting peak "
            f"{run['uncommitted_peak']}, enquire_link {run['enquire_link_ms']} ms, "
            f"binds {run['binds_during']}, closes {run['closes_during']}, "
            f"stored {run['stored']['mo_message']:,} ({run['reason']})")


async def run(tmpdir: Path, dsn: str, log_level: str,
              s: FloodSettings | None = None) -> list[dict[str, Any]]:
    """``s.runs`` floods, each against a new service process on the same database."""
    s = s or FloodSettings.from_env()
    runs: list[dict[str, Any]] = []
    async with BenchSmsc(password=PEER_PASSWORD) as smsc:
        for _ in range(s.runs):
            result = await flood_once(smsc, tmpdir, dsn, s, log_level=log_level)
            runs.append(result)
            print(f"  {line(result)}", flush=True)
    return runs

"""The MO → İYS section of ``make bench`` (``python -m bench --only iys`` alone).

The whole path: the benchmark SMSC (``bench/peer.js``) offers ``deliver_sm`` over SMPP to
``iys-inbound run`` (subprocess), which stores each message and its consent event and pushes
it to the İYS sandbox, a process of its own (``iys-inbound sandbox-iys``) with İYS's real
limit of 10 requests per second per IP. Figures come from the database and the sandbox:

* submitted = the moment İYS accepted the request carrying the event: a 2xx answer to its
  single add (``iys_attempt`` rows of the event), or the 202 answer to the batch request that
  listed its recipient (``iys_attempt.request`` holds the list); start + latency of the call;
* received = ``consent_event.received_at`` (the SMS reached the service);
* confirmed = the event's state became ``accepted`` (``updated_at``): at once for a single
  add, after the batch-result delay (İYS: 300 s) for a batch item;
* 429s and the highest requests in a second from the sandbox's own counters
  (``/_sandbox/state``); peak RSS of the service from ``/proc/<pid>/status`` (VmHWM).

Phases, each from senders of its own prefix (so its events are told apart by recipient):
steady (``IZIN ACME`` at 8 MO/s for 60 s), fast (``IZIN ACME`` at 200 MO/s for 120 s) and a
burst of 100,000 ``RET ACME`` (load mode, window 50) whose recipients were given an ONAY in
the sandbox first (a RET without one is never sent). Environment for shorter runs:
``BENCH_IYS_STEADY`` / ``BENCH_IYS_FAST`` (``rate,seconds``), ``BENCH_IYS_BURST`` (count),
``BENCH_IYS_BATCH_DELAY`` (sandbox batch-result delay = service poll delay, default 300);
``BENCH_IYS_RPS`` sets the service's ``[iys] requests_per_second`` (default: its own, 8) for
attribution runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.harness import (
    IYS_INBOUND,
    BenchSmsc,
    free_port,
    service_config,
    service_process,
    wait_listening,
)

BRAND_CODE = 700001
TARGET_STEADY_P99_S = 2.0
TARGET_FAST_MAX_S = 30.0
TARGET_BURST_SUBMIT_S = 300.0
TARGET_RSS_MIB = 300.0

SUBMITTED_SQL = """
WITH single AS (
    SELECT a.event_id AS id,
           min(a.started_at + a.latency_ms * interval '1 millisecond') AS t
      FROM iys_attempt a
     WHERE a.event_id IS NOT NULL AND a.http_status BETWEEN 200 AND 299
       AND a.method = 'POST' AND a.path LIKE '%/consents'
     GROUP BY 1
), batched AS (
    SELECT item->>'recipient' AS recipient,
           min(a.started_at + a.latency_ms * interval '1 millisecond') AS t,
           count(*) AS n
      FROM iys_attempt a CROSS JOIN LATERAL jsonb_array_elements(a.request) item
     WHERE a.method = 'POST' AND a.path LIKE '%/consents/request' AND a.http_status = 202
       AND jsonb_typeof(a.request) = 'array'
     GROUP BY 1
)
SELECT e.id, e.recipient, e.state, e.received_at, e.updated_at, e.iys_transaction_id,
       COALESCE(s.t, b.t) AS submitted, s.t IS NULL AND b.t IS NOT NULL AS batched
  FROM consent_event e
  LEFT JOIN single s ON s.id = e.id
  LEFT JOIN batched b ON b.recipient = e.recipient
 WHERE e.recipient LIKE $1
"""


@dataclass
class IysSettings:
    steady_rate: int
    steady_seconds: int
    fast_rate: int
    fast_seconds: int
    burst: int
    batch_delay: float
    requests_per_second: float | None = None

    @classmethod
    def from_env(cls) -> IysSettings:
        env = os.environ
        sr, ss = (int(x) for x in env.get("BENCH_IYS_STEADY", "8,60").split(","))
        fr, fs = (int(x) for x in env.get("BENCH_IYS_FAST", "200,120").split(","))
        rps = env.get("BENCH_IYS_RPS")
        return cls(sr, ss, fr, fs, int(env.get("BENCH_IYS_BURST", "100000")),
                   float(env.get("BENCH_IYS_BATCH_DELAY", "300")),
                   float(rps) if rps else None)


def fields(prefix: str, text: str) -> dict[str, Any]:
    return {"source_addr": prefix + "#######", "source_addr_ton": 1, "source_addr_npi": 1,
            "destination_addr": "4609", "data_coding": 0, "short_message": text}


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def vm_hwm_mib(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url

    async def state(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as s, s.get(self.url + "/_sandbox/state") as r:
            return await r.json()

    async def seed_onay(self, recipients: list[str]) -> None:
        async with aiohttp.ClientSession() as s:
            for start in range(0, len(recipients), 10_000):  # bodies under aiohttp's 1 MiB
                async with s.post(self.url + "/_sandbox/seed",
                                  json={"brandCode": BRAND_CODE,
                                        "recipients": recipients[start:start + 10_000]}) as r:
                    assert r.status == 200, await r.text()


def count_429(state: dict[str, Any]) -> int:
    return sum(n for name, n in state["requests"].items() if name.endswith(" 429"))


async def events_of(conn: asyncpg.Connection, prefix: str) -> list[asyncpg.Record]:
    return await conn.fetch(SUBMITTED_SQL, "+" + prefix + "%")


async def wait_for(conn: asyncpg.Connection, prefix: str, n: int, what: str,
                   timeout: float) -> list[asyncpg.Record]:
    """Poll until ``n`` events of the phase satisfy ``what`` (submitted | confirmed)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await events_of(conn, prefix)
        ok = sum(1 for r in rows if (r["submitted"] is not None if what == "submitted"
                                     else r["state"] == "accepted"))
        if ok >= n or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(1.0)


def latencies(rows: list[asyncpg.Record]) -> list[float]:
    return [(r["submitted"] - r["received_at"]).total_seconds() for r in rows
            if r["submitted"] is not None]


async def paced_phase(name: str, smsc: BenchSmsc, conn: asyncpg.Connection, sb: Sandbox,
                      prefix: str, rate: int, seconds: int) -> dict[str, Any]:
    n = rate * seconds
    before = await sb.state()
    started = time.monotonic()
    done = await smsc.paced(n, rate, timeout=seconds + 120, **fields(prefix, "IZIN ACME"))
    rows = await wait_for(conn, prefix, n, "submitted", timeout=120)
    after = await sb.state()
    lat = latencies(rows)
    out = {
        "offered_rate": rate, "seconds": seconds, "mo_offered": n, "mo_acked": done["answered"],
        "smpp_errors": done["errors"], "achieved_rate": round(done["rate"], 1),
        "events": len(rows), "submitted": len(lat),
        "batched": sum(1 for r in rows if r["batched"]),
        "latency_p50_s": pct(lat, 0.5), "latency_p99_s": pct(lat, 0.99),
        "latency_max_s": max(lat) if lat else None,
        "within_30_s": sum(1 for x in lat if x <= TARGET_FAST_MAX_S),
        "http_429": count_429(after) - count_429(before),
        "sandbox_requests": sum(after["requests"].values()) - sum(before["requests"].values()),
        "phase_seconds": round(time.monotonic() - started, 1),
    }
    print(f"  {name}: {n} MO at {rate}/s -> {out['submitted']}/{out['events']} submitted "
          f"({out['batched']} in batches), latency p50 {out['latency_p50_s']} p99 "
          f"{out['latency_p99_s']} max {out['latency_max_s']} s, 429s {out['http_429']}",
          flush=True)
    return out


async def burst_phase(smsc: BenchSmsc, conn: asyncpg.Connection, sb: Sandbox, prefix: str,
                      n: int, delay: float) -> dict[str, Any]:
    await smsc.counter(set_to=0)  # the burst's senders are prefix + 0000001 … prefix + n
    recipients = [f"+{prefix}{i:07d}" for i in range(1, n + 1)]
    t = time.monotonic()
    await sb.seed_onay(recipients)
    seeded_s = time.monotonic() - t
    before = await sb.state()
    started = time.monotonic()
    done = await smsc.load(n, 50, timeout=1800, **fields(prefix, "RET ACME"))
    print(f"  burst: {done['answered']}/{n} RET acknowledged at {done['rate']:.0f} MO/s",
          flush=True)
    rows = await wait_for(conn, prefix, n, "submitted", timeout=TARGET_BURST_SUBMIT_S + 300)
    submitted_at = time.monotonic()
    lat = latencies(rows)
    first = min(r["received_at"] for r in rows)
    last_sub = max((r["submitted"] for r in rows if r["submitted"]), default=None)
    print(f"  burst: {len(lat)}/{n} submitted, last {last_sub and (last_sub - first)} after "
          "the first RET; waiting for the batch results", flush=True)
    rows = await wait_for(conn, prefix, n, "confirmed", timeout=delay + 600)
    after = await sb.state()
    confirmed = [r for r in rows if r["state"] == "accepted" and r["iys_transaction_id"]]
    # a batch item's confirmation waits for the batch-result delay (the few RETs that went
    # as single adds before the backlog passed the batch threshold are confirmed at once)
    wait = [(r["updated_at"] - r["submitted"]).total_seconds() for r in confirmed
            if r["submitted"] is not None and r["batched"]]
    last_conf = max((r["updated_at"] for r in confirmed), default=None)
    return {
        "rets": n, "seeded_onay_seconds": round(seeded_s, 1), "mo_acked": done["answered"],
        "smpp_errors": done["errors"], "smpp_rate": round(done["rate"], 1),
        "smpp_seconds": round(done["seconds"], 1), "events": len(rows),
        "submitted": len(lat), "batched": sum(1 for r in rows if r["batched"]),
        "all_submitted_after_s": (last_sub - first).total_seconds() if last_sub else None,
        "submit_wait_seconds": round(submitted_at - started, 1),
        "confirmed": len(confirmed),
        "all_confirmed_after_s": (last_conf - first).total_seconds() if last_conf else None,
        "confirm_after_submit_min_s": min(wait) if wait else None,
        "confirm_after_submit_max_s": max(wait) if wait else None,
        "batch_result_delay_s": delay,
        "http_429": count_429(after) - count_429(before),
        "batch_requests": sum(v for k, v in after["requests"].items()
                              if k.startswith("POST") and "/consents/request 202" in k)
        - sum(v for k, v in before["requests"].items()
              if k.startswith("POST") and "/consents/request 202" in k),
    }


async def exactly_once(conn: asyncpg.Connection, state: dict[str, Any],
                       prefixes: dict[str, int]) -> dict[str, Any]:
    """Every event accepted once, and İYS holds one movement of ours per key (plus the seeded
    ONAY of each burst key)."""
    per_key = state["movements_per_key"]
    out: dict[str, Any] = {}
    for prefix, expected in prefixes.items():
        rows = await conn.fetch("SELECT recipient, state FROM consent_event "
                                "WHERE recipient LIKE $1", "+" + prefix + "%")
        keys = [f"{BRAND_CODE}|{r['recipient']}|BIREYSEL|MESAJ" for r in rows]
        out[prefix] = {
            "events": len(rows),
            "states": dict(sorted({s: sum(1 for r in rows if r["state"] == s)
                                   for s in {r["state"] for r in rows}}.items())),
            "keys_with_expected_movements": sum(1 for k in keys if per_key.get(k) == expected),
            "expected_movements_per_key": expected,
        }
    return out


async def run(smsc: BenchSmsc, tmpdir: Path, dsn: str, log_level: str,
              s: IysSettings) -> dict[str, Any]:
    """One sandbox process, one service process, the three phases; returns the section."""
    started = time.monotonic()
    port = free_port()
    sandbox = await asyncio.create_subprocess_exec(
        str(IYS_INBOUND), "sandbox-iys", "--port", str(port), "--batch-result-delay",
        str(s.batch_delay), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL)
    try:
        await wait_listening(port)
        sb = Sandbox(f"http://127.0.0.1:{port}")
        config = service_config(tmpdir / "iys-push.toml", smsc.port, log_level=log_level,
                                iys_url=sb.url, batch_poll_delay=s.batch_delay,
                                requests_per_second=s.requests_per_second)
        async with service_process(config, dsn, tmpdir / "service-iys.log") as proc:
            await smsc.wait_bound(timeout=60)
            conn = await asyncpg.connect(dsn)
            try:
                # warm-up: token, connections, first claims (not counted)
                await smsc.paced(20, 10, timeout=60, **fields("90540", "IZIN ACME"))
                await wait_for(conn, "90540", 20, "submitted", timeout=60)
                steady = await paced_phase("steady", smsc, conn, sb, "90541", s.steady_rate,
                                           s.steady_seconds)
                fast = await paced_phase("fast", smsc, conn, sb, "90542", s.fast_rate,
                                         s.fast_seconds)
                burst = await burst_phase(smsc, conn, sb, "90543", s.burst, s.batch_delay)
                # the fast phase's batches are confirmed by now as well (same delay, earlier)
                await wait_for(conn, "90542", s.fast_rate * s.fast_seconds, "confirmed",
                               timeout=s.batch_delay + 120)
                state = await sb.state()
                once = await exactly_once(conn, state, {"90541": 1, "90542": 1, "90543": 2})
                rss = vm_hwm_mib(proc.pid)
            finally:
                await conn.close()
    finally:
        sandbox.terminate()
        await sandbox.wait()
    return {
        "settings": vars(s), "steady": steady, "fast": fast, "burst": burst,
        "exactly_once": once, "service_peak_rss_mib": rss,
        "sandbox": {"requests_per_second_limit": 10,
                    "max_requests_per_second": state["max_requests_per_second"],
                    "http_429_total": count_429(state),
                    "requests_total": sum(state["requests"].values()),
                    "token_calls": state["token_calls"],
                    "movements": state["movements"]},
        "seconds": round(time.monotonic() - started, 1),
    }

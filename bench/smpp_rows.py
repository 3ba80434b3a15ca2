"""The SMPP section of ``python -m bench`` (``--only smpp``): the rows, one after another against
one benchmark SMSC (``bench/peer.js``), and what the storing rows really stored.

:func:`smpp_section` runs the rows ``BENCH_ROWS`` selects (npm-smpp ack-only, smpplib
ack-only, naive, iys-inbound, mixed, then smpplib ack-only again); :func:`measure` is one
row's warm-up, window loads and paced load. The settings and switches (documented in
``bench/__main__.py``), the section dispatch and the report stay in ``bench/__main__.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from bench import flood as flood_bench
from bench import mixed, report
from bench.harness import (
    ACKONLY_SCRIPT,
    IYS_INBOUND,
    MO_FIELDS,
    PEER_PASSWORD,
    ROOT,
    BenchSmsc,
    checkpoint,
    create_database,
    free_port,
    service_config,
    service_process,
    wait_listening,
)
from bench.ratios import MIXED
from tests.processes import stop_process

if TYPE_CHECKING:
    # for the hints only: run as ``python -m bench``, that module is ``__main__``, and an
    # import of bench.__main__ here would execute it a second time
    from bench.__main__ import Settings

WARMUP = 500
# WAL a stored MO writes, rounded up (BENCHMARKS.md's 10M section: 2,000-4,900 B/MO)
WAL_PER_MO = 4096


async def smpp_section(s: Settings, tmpdir: Path, pg_uri: str, info: dict[str, Any],
                       command: str) -> dict[str, Any]:
    print(f"N={s.n} per row and window, windows {s.windows}", flush=True)
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    naive_dsn, _ = await create_database(pg_uri, "bench_naive")
    iys_dsn, _ = await create_database(pg_uri, "bench_iys")
    pw = {"SMPP_PASSWORD": PEER_PASSWORD}
    py = sys.executable
    wal_mb = row_wal_megabytes(s)
    async with BenchSmsc(password=PEER_PASSWORD) as smsc:
        if "npm" in s.rows:
            async with child("node", str(ACKONLY_SCRIPT), str(smsc.port), env=pw):
                await measure(smsc, "npm-smpp ack-only", s, rows)
        if "smpplib" in s.rows:
            async with child(py, "-m", "bench.smpplib_client", "ackonly", str(smsc.port),
                             env=pw):
                await measure(smsc, "smpplib ack-only", s, rows)
        if "naive" in s.rows:
            await warm_wal(naive_dsn, wal_mb)
            async with child(py, "-m", "bench.smpplib_client", "naive", str(smsc.port),
                             naive_dsn, env=pw):
                await measure(smsc, "naive", s, rows)
        if "iys" in s.rows:
            # İYS is remote in production: its sandbox runs as a process of its own
            sandbox_port = free_port()
            async with child(str(IYS_INBOUND), "sandbox-iys", "--port", str(sandbox_port)):
                await wait_listening(sandbox_port)
                config = service_config(tmpdir / "iys-inbound.toml", smsc.port,
                                        log_level=s.log_level,
                                        iys_url=f"http://127.0.0.1:{sandbox_port}")
                async with service_process(config, iys_dsn, tmpdir / "service.log"):
                    await warm_wal(iys_dsn, wal_mb)
                    if os.environ.get("BENCH_WEBHOOK_TRIGGERS") == "off":
                        await disable_webhook_triggers(iys_dsn)
                    await measure(smsc, "iys-inbound", s, rows, paced_after=iys_dsn)
        mixed_stored: dict[str, Any] = {}
        if "mixed" in s.rows and 50 in s.windows:
            mixed_dsn, _ = await create_database(pg_uri, "bench_mixed")
            await warm_wal(mixed_dsn, wal_mb)
            # the same service as the plain row: İYS's sandbox in a process of its own, as
            # İYS is remote in production (inside the service it shares the MO path's loop)
            sandbox_port = free_port()
            async with child(str(IYS_INBOUND), "sandbox-iys", "--port", str(sandbox_port)):
                await wait_listening(sandbox_port)
                await mixed.run_row(smsc, mixed_dsn, tmpdir, s.log_level,
                                    lambda: measure(smsc, MIXED, s, rows, windows=[50]),
                                    iys_url=f"http://127.0.0.1:{sandbox_port}")
            mixed_stored[MIXED] = await mixed.stored(mixed_dsn)
        if "smpplib" in s.rows and "iys" in s.rows and 50 in s.windows:
            # the reference again, right after: this machine's speed drifts by ±20-45 %
            # within minutes, so the 0.5x target is judged against both runs around ours
            async with child(py, "-m", "bench.smpplib_client", "ackonly", str(smsc.port),
                             env=pw):
                await measure(smsc, report.AGAIN, s, rows, windows=[50])
    checks = {**await stored_counts(iys_dsn, naive_dsn), **mixed_stored}
    return {
        "machine": dict(info), "command": command, "n": s.n, "windows": s.windows,
        "warmup": WARMUP, "wal_warmup_mb": wal_mb, "seconds": round(time.monotonic() - started, 1),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "rows": rows, "stored": checks, "iys_log_level": s.log_level,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


async def measure(smsc: BenchSmsc, name: str, s: Settings, rows: list[dict[str, Any]],
                  paced_after: str | None = None, windows: list[int] | None = None) -> None:
    """Warm-up, then one load per window; with ``paced_after`` (the row's database) a
    checkpoint there and the paced load."""
    await smsc.wait_bound(timeout=60)
    warm = await smsc.load(WARMUP, 10, **MO_FIELDS)
    print(f"  {name}: warm-up {warm['answered']}/{WARMUP} at {warm['rate']:.0f}/s", flush=True)
    for window in window_loads(s, windows):
        done = await smsc.load(s.n, window, timeout=1800, **MO_FIELDS)
        row = {"client": name, "mode": "window", "window": window, **_pick(done)}
        rows.append(row)
        print(f"  {name:<18} window {window:>3}: {done['rate']:>8.0f} MO/s  "
              f"p50 {done['p50_ms']:.2f} ms  p99 {done['p99_ms']:.2f} ms  "
              f"errors {done['errors']}  ({done['reason']})", flush=True)
    if paced_after is not None and s.paced_seconds > 0:  # BENCH_PACED_SECONDS=0: no paced load
        took = await checkpoint(paced_after)
        print(f"  {name}: CHECKPOINT before the paced load took {took:.2f} s", flush=True)
        n = s.paced_rate * s.paced_seconds
        done = await smsc.paced(n, s.paced_rate, timeout=s.paced_seconds + 120, **MO_FIELDS)
        rows.append({"client": name, "mode": "paced", "window": None, **_pick(done),
                     "offered": s.paced_rate})
        print(f"  {name:<18} offered {s.paced_rate}/s: {done['rate']:>6.0f} MO/s  "
              f"p50 {done['p50_ms']:.2f} ms  p99 {done['p99_ms']:.2f} ms  "
              f"errors {done['errors']}", flush=True)


def _pick(done: dict[str, Any]) -> dict[str, Any]:
    return {k: done.get(k) for k in ("n", "answered", "errors", "seconds", "rate", "p50_ms",
                                     "p99_ms", "max_ms", "reason")}


def window_loads(s: Settings, windows: list[int] | None = None) -> list[int]:
    """The window of each load of a row, in order: window 50 (the targets') several times, as
    one 20,000-MO run lasts 1-3 s and a hiccup of this shared machine in it would decide the
    verdict; the report takes their median."""
    return [w for w in (s.windows if windows is None else windows)
            for _ in range(s.repeats if w == 50 else 1)]


def row_wal_megabytes(s: Settings) -> int:
    """The WAL one storing row writes (its warm-up, window and paced loads), in MB, at most
    1 GB (max_wal_size: more would not be kept); ``BENCH_WARM_WAL_MB`` overrides it."""
    if s.warm_wal_mb is not None:
        return s.warm_wal_mb
    mos = WARMUP + s.n * len(window_loads(s)) + s.paced_rate * s.paced_seconds
    return min(1024, -(-mos * WAL_PER_MO // 2**20))


async def warm_wal(dsn: str, megabytes: int) -> None:
    """Before a storing row: the WAL it will write written and checkpointed, so that its loads
    recycle segments as in a running cluster (:func:`bench.harness.checkpoint`)."""
    if megabytes > 0:
        took = await checkpoint(dsn, megabytes)
        print(f"  WAL warmed: {megabytes} MB and a checkpoint in {took:.1f} s", flush=True)


@contextlib.asynccontextmanager
async def child(*cmd: str, env: dict[str, str] | None = None
                ) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL, env={**os.environ, **(env or {})}, cwd=str(ROOT))
    try:
        yield proc
    finally:
        await stop_process(proc, proc.terminate, 10)


async def disable_webhook_triggers(dsn: str) -> None:
    """BENCH_WEBHOOK_TRIGGERS=off: the MO path without the webhook outbox's triggers on
    consent_event (migration 0027), to measure what they cost (docs/DESIGN-NOTES.md,
    Webhooks)."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + 60
        while not await conn.fetchval(  # the service's migrations have run
                "SELECT count(*) = 2 FROM pg_trigger WHERE tgname IN "
                "('consent_event_webhook_received', 'consent_event_webhook_settled')"):
            if time.monotonic() > deadline:
                raise TimeoutError("the service did not create the webhook triggers")
            await asyncio.sleep(0.2)
        for trigger in ("consent_event_webhook_received", "consent_event_webhook_settled"):
            await conn.execute(f"ALTER TABLE consent_event DISABLE TRIGGER {trigger}")
        print("  webhook triggers on consent_event disabled", flush=True)
    finally:
        await conn.close()


async def stored_counts(iys_dsn: str, naive_dsn: str) -> dict[str, Any]:
    """What the storing rows really stored (a benchmark that drops work is no benchmark)."""
    iys: dict[str, Any] = {}
    naive: dict[str, Any] = {}
    conn = await asyncpg.connect(iys_dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('mo_message') IS NOT NULL"):
            return {"iys-inbound": iys, "naive": await _naive_rows(naive_dsn)}
        iys = {
            **await flood_bench.stored_on(conn),
            "outcomes": {r["outcome"]: r["n"] for r in await conn.fetch(
                "SELECT outcome, count(*) AS n FROM mo_message GROUP BY 1")},
            "consent_event": await conn.fetchval("SELECT count(*) FROM consent_event"),
        }
    finally:
        await conn.close()
    naive = await _naive_rows(naive_dsn)
    return {"iys-inbound": iys, "naive": naive}


async def _naive_rows(naive_dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(naive_dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_naive_mo') IS NOT NULL"):
            return {"rows": 0}
        return {"rows": await conn.fetchval("SELECT count(*) FROM bench_naive_mo")}
    finally:
        await conn.close()

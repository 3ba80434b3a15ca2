"""``make bench``'s "big" section (``python -m bench --only big``): the service on an empty
database and on one already holding ``BENCH_BIG_ROWS`` messages and events (default
10,000,000; bench/bigdata.py), both in one embedded cluster kept under ``var/bench-big/``.

In one run, every figure beside the empty database's:

1. the pusher's claim, the compliance gauges and the API's reads, statement by statement
   (bench/bigreads.py), on both databases as they are before any load;
2. window 50: ``BENCH_W50_RUNS`` rounds (default 3), each round one run on the empty
   database then one on the big one (alternated: the machine's speed drifts), each run a
   fresh ``iys-inbound run`` against that database, 500 warm-up messages, a CHECKPOINT, then
   ``BENCH_N`` MO; the WAL each run wrote (bytes, full-page images, records) from
   ``pg_stat_wal`` around it;
3. the paced row (``BENCH_PACED_RATE`` for ``BENCH_PACED_SECONDS``) on each.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench import bigdata, bigreads
from bench.harness import (
    IYS_INBOUND,
    MO_FIELDS,
    PEER_PASSWORD,
    ROOT,
    BenchSmsc,
    checkpoint,
    free_port,
    service_config,
    service_process,
    wait_listening,
)
from inbound import db

CLUSTER_DIR = ROOT / "var" / "bench-big" / "pgdata"
LOG_DIR = ROOT / "var" / "bench-big" / "logs"
WARMUP = 500
WAL_STATS = ("SELECT wal_bytes::bigint AS bytes, wal_fpi AS fpi, wal_records AS records "
             "FROM pg_stat_wal")


def _dsn(server_dsn: str, name: str) -> str:
    base, sep, query = server_dsn.partition("?")
    return f"{base.rpartition('/')[0]}/{name}{sep}{query}"


async def _fresh_empty(server_dsn: str) -> str:
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute('DROP DATABASE IF EXISTS "bench_big_empty"')
        await admin.execute('CREATE DATABASE "bench_big_empty"')
    finally:
        await admin.close()
    dsn = _dsn(server_dsn, "bench_big_empty")
    conn = await db.connect(dsn)
    try:
        await db.migrate(conn)
    finally:
        await conn.close()
    return dsn


async def _sizes(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT i.indexrelid::regclass::text AS name,
                      sum(pg_relation_size(c.oid)) OVER (PARTITION BY i.indexrelid) AS bytes
                 FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                 JOIN pg_class c ON c.oid = i.indexrelid
                WHERE t.relname IN ('mo_message', 'consent_event', 'consent_event_tally')""")
        parts = await conn.fetch(
            """SELECT p.relname AS parent, pi.relname AS name,
                      sum(pg_relation_size(ci.oid)) AS bytes
                 FROM pg_class p JOIN pg_index i ON i.indrelid = p.oid
                 JOIN pg_class pi ON pi.oid = i.indexrelid
                 JOIN pg_inherits h ON h.inhparent = pi.oid
                 JOIN pg_class ci ON ci.oid = h.inhrelid
                WHERE p.relname IN ('sms_in', 'iys_attempt')
                GROUP BY 1, 2""")
        tables = await conn.fetch(
            """SELECT relname AS name, pg_total_relation_size(oid) AS bytes FROM pg_class
                WHERE relname IN ('mo_message', 'consent_event', 'consent_event_tally')""")
        sms_in = await conn.fetchval(
            """SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits
                WHERE inhparent = 'sms_in'::regclass""")
        current = await conn.fetchval(
            "SELECT pg_total_relation_size(iys_month_partition('sms_in', now()::date))")
    finally:
        await conn.close()
    return {"indexes": {r["name"]: int(r["bytes"]) for r in [*rows, *parts]},
            "tables": {**{r["name"]: int(r["bytes"]) for r in tables},
                       "sms_in (all months)": int(sms_in or 0),
                       "sms_in (current month)": int(current or 0)}}


async def _wal(server_dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(server_dsn)
    try:
        return dict(await conn.fetchrow(WAL_STATS))
    finally:
        await conn.close()


async def _one_run(smsc: BenchSmsc, tmp: Path, server_dsn: str, dsn: str, label: str,
                   sandbox_port: int, n: int, paced: tuple[int, int] | None,
                   log_level: str) -> dict[str, Any]:
    config = service_config(tmp / f"big-{label}.toml", smsc.port, log_level=log_level,
                            iys_url=f"http://127.0.0.1:{sandbox_port}")
    # no daily reconciliation: the fixture's accepted events are unknown to the sandbox
    # ('bench-N' transactions), so it would find every one of the last days missing from
    # İYS's file and send them again — 90,926 requeued, 20,180 failed (H467) and WAL 6.8× in
    # the 14:01 UTC run: a storm of the push side, not the MO path this section measures
    with config.open("a") as f:
        f.write("\n[mirror]\nreconcile_enabled = false\n")
    log = tmp / f"big-{label}.log"
    log_start = log.stat().st_size if log.exists() else 0
    async with service_process(config, dsn, log):
        await smsc.wait_bound(timeout=120)
        await smsc.load(WARMUP, 10, **MO_FIELDS)
        await checkpoint(server_dsn)
        before = await _wal(server_dsn)
        stalls = pressure()
        if paced is None:
            done = await smsc.load(n, 50, timeout=1800, **MO_FIELDS)
        else:
            rate, seconds = paced
            done = await smsc.paced(rate * seconds, rate, timeout=seconds + 120, **MO_FIELDS)
        stalls = {k: round(v - stalls.get(k, 0)) for k, v in pressure().items()}
        after = await _wal(server_dsn)
    wal = {k: after[k] - before[k] for k in after}
    answered = max(1, done["answered"])
    row = {"database": label, "mode": "paced" if paced else "window",
           **{k: done.get(k) for k in ("n", "answered", "errors", "seconds", "rate", "p50_ms",
                                       "p99_ms", "max_ms")},
           "wal_bytes": wal["bytes"], "wal_fpi": wal["fpi"], "wal_records": wal["records"],
           "wal_bytes_per_mo": round(wal["bytes"] / answered), "loadavg": os.getloadavg()[0],
           "stalls_ms": stalls}
    if paced:
        row["offered"] = paced[0]
        row["statuses"] = done.get("statuses") or {}
    row["log_warnings"] = log_warnings(log, log_start)
    if paced:
        _keep_log(log, log_start, f"{label}-paced")
    print(f"  {label:<6} {row['mode']:<6}: {row['rate']:>8,.0f} MO/s  p50 {row['p50_ms']:.2f} "
          f"p99 {row['p99_ms']:.2f} ms  errors {row['errors']}  WAL {wal['bytes'] / 1e6:.1f} MB "
          f"({row['wal_bytes_per_mo']:,} B/MO, {wal['fpi']:,} FPI)  load {row['loadavg']:.2f}"
          + f"  PSI io some/full {stalls.get('io_some_ms', 0):,}/{stalls.get('io_full_ms', 0):,}"
          f" cpu some {stalls.get('cpu_some_ms', 0):,} ms"
          + (f"  statuses {row['statuses']}" if row.get("statuses") else "")
          + (f"  log {row['log_warnings']}" if row["log_warnings"] else ""), flush=True)
    return row


def pressure() -> dict[str, float]:
    """The kernel's stall totals (PSI, /proc/pressure), in ms: time some (or all) tasks of the
    machine waited for the disk or a core. Their growth during a run tells the machine's
    contention (other work on the shared cores and disk) from the service's own stalls."""
    out: dict[str, float] = {}
    for resource in ("io", "cpu"):
        try:
            text = Path(f"/proc/pressure/{resource}").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            kind, *fields = line.split()
            total = dict(f.split("=") for f in fields).get("total")
            if total is not None:
                out[f"{resource}_{kind}_ms"] = int(total) / 1000
    return out


def log_warnings(log: Path, start: int) -> dict[str, int]:
    """The service's warnings and errors during one run (its JSON log from ``start``), counted
    by event: what the peer's non-OK answers were (throttled, not stored, ...)."""
    counts: dict[str, int] = {}
    with log.open("rb") as f:
        f.seek(start)
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") in ("warning", "error",
                                                                  "critical"):
                key = f"{entry['level']}: {entry.get('event', '?')}"
                counts[key] = counts.get(key, 0) + 1
    return counts


def _keep_log(log: Path, start: int, name: str) -> None:
    """The service log of a paced run, kept under var/bench-big/logs/ (the last of each)."""
    keep = LOG_DIR / f"{name}.log"
    keep.parent.mkdir(parents=True, exist_ok=True)
    with log.open("rb") as f:
        f.seek(start)
        keep.write_bytes(f.read())


async def run(n: int, repeats: int, paced: tuple[int, int], log_level: str,
              tmp: Path) -> dict[str, Any]:
    rows_wanted = bigdata.rows_wanted()
    started = time.monotonic()
    pg = await asyncio.to_thread(db.start_embedded, CLUSTER_DIR)
    try:
        fixture = await bigdata.ensure(pg.uri, rows_wanted)
        print(f"  big fixture: {fixture.rows:,} rows, {fixture.size_bytes / 1e9:.2f} GB, "
              + (f"built in {fixture.built_seconds:.0f} s" if fixture.built_seconds
                 else "reused"), flush=True)
        await bigdata.reset(fixture)
        empty = await _fresh_empty(pg.uri)
        dbs = {"empty": empty, "big": fixture.dsn}
        statements = {}
        for label, dsn in dbs.items():
            statements[label] = await bigreads.measure(dsn, seed_due=(label == "empty"))
            print(f"  {label}: claim {statements[label]['claim']}", flush=True)
        runs: list[dict[str, Any]] = []
        sandbox_port = free_port()
        async with BenchSmsc(password=PEER_PASSWORD) as smsc:
            proc = await asyncio.create_subprocess_exec(
                str(IYS_INBOUND), "sandbox-iys", "--port", str(sandbox_port),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            try:
                await wait_listening(sandbox_port)
                for _ in range(repeats):
                    for label, dsn in dbs.items():
                        runs.append(await _one_run(smsc, tmp, pg.uri, dsn, label,
                                                   sandbox_port, n, None, log_level))
                for label, dsn in dbs.items():
                    runs.append(await _one_run(smsc, tmp, pg.uri, dsn, label, sandbox_port,
                                               n, paced, log_level))
            finally:
                proc.terminate()
                await proc.wait()
        sizes = await _sizes(fixture.dsn)
        return {"rows": fixture.rows, "size_bytes": fixture.size_bytes,
                "built_seconds": fixture.built_seconds, "n": n, "runs": runs,
                "statements": statements, "sizes": sizes,
                "seconds": round(time.monotonic() - started, 1),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]}
    finally:
        await asyncio.to_thread(pg.stop)


def earlier_runs(previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The runs of the previous results (and theirs), kept beside the new ones: every run
    is reported, not the last one only. Only those of the same fixture size."""
    if not previous or "runs" not in previous:
        return []
    kept = [r for r in previous.get("earlier", []) if r.get("rows") == previous.get("rows")]
    return [*kept, {"date": previous["date"], "rows": previous["rows"],
                    "loadavg_at_end": previous.get("loadavg_at_end"),
                    "runs": previous["runs"],
                    "claim_ms": {k: v["claim"]["median_ms"]
                                 for k, v in previous.get("statements", {}).items()}}]

"""``make bench``'s "check" section (``python -m bench --only check``): the pre-send check
(issue #29 item 4) — ``BENCH_CHECK_NUMBERS`` numbers (default 1,000,000) end to end through
the CLI (``iys-inbound check --brand bench --type MESAJ FILE > allowed``: process start,
migration check, reading, normalising, the mirror lookups, writing) against a mirror of
``BENCH_CHECK_KEYS`` keys (default 10,000,000). Target: ≤ 10 s.

The fixture is built once inside PostgreSQL (``generate_series``) in an embedded cluster
kept under ``var/bench-check/`` and reused while its key (sizes, this generator's version,
the migrations' text) is unchanged. Shape: brand ``bench``, KEYS/2 Turkish mobiles each with
a MESAJ and an ARAMA key (BIREYSEL), 80 % ONAY and 20 % RET; 100,000 RETs pending here and
1,000 messages waiting for review. The input file (``var/bench-check/numbers-N.csv``): one
number a line in the shapes people type (``0532 123 45 67``, ``+905321234567``,
``5321234567``, ``+90 (532) 123-45-67``), 70 % known to the mirror, 25 % unknown, 5 %
invalid. ``BENCH_CHECK_RUNS`` runs (default 3), every one printed, with the load average.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import IYS_INBOUND, ROOT
from inbound import db

GENERATOR_VERSION = "2"
DIR = ROOT / "var" / "bench-check"
BRAND_CODE = 900001
PENDING_RETS = 100_000
REVIEWS = 1_000


def _key(keys: int) -> str:
    digest = hashlib.sha256(f"{GENERATOR_VERSION}:{keys}".encode())
    for name, path in db.migration_files():
        digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def mobile(i: int) -> str:
    """The i-th number of the fixture: +90 53x xxx xx xx (valid Turkish mobiles)."""
    return f"+9053{i:08d}"


LOAD_KEYS = """
INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type, status, consent_date,
                           source, origin, updated_at, transaction_id, creation_date)
SELECT $1, '+9053' || lpad(i::text, 8, '0'), 'BIREYSEL', t,
       CASE WHEN (i * 7 + length(t)) % 5 = 0 THEN 'RET' ELSE 'ONAY' END,
       now() - make_interval(mins => (i % 500000)), 'HS_MESAJ', 'pull', now(),
       md5(i::text || t), now() - make_interval(mins => (i % 500000))
  FROM generate_series(0, $2 - 1) AS i, unnest(ARRAY['MESAJ', 'ARAMA']) AS t
 ORDER BY 2, 4
"""
# RETs pending here for every 20th known number (all ONAY in the mirror), newer than the
# mirror's date; the first REVIEWS of them are messages waiting for review instead
LOAD_WAITING = """
INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, source, received_at, consent_date,
                           deadline_at, state)
SELECT g, 'bench', $1, $1, '+9053' || lpad((g * 20 + 1)::text, 8, '0'), 'BIREYSEL', 'MESAJ',
       'RET', 'HS_MESAJ', now(), now(), now() + interval '3 days',
       CASE WHEN g <= $3 THEN 'review' ELSE 'pending' END
  FROM generate_series(1, $2) AS g
"""


async def ensure(server_dsn: str, keys: int) -> str:
    name = f"bench_check_{keys}"
    base, sep, query = server_dsn.partition("?")
    dsn = f"{base.rpartition('/')[0]}/{name}{sep}{query}"
    key = _key(keys)
    admin = await asyncpg.connect(server_dsn)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            conn = await asyncpg.connect(dsn)
            try:
                stored = await conn.fetchval("SELECT key FROM bench_fixture")
            except asyncpg.UndefinedTableError:
                stored = None
            finally:
                await conn.close()
            if stored == key:
                return dsn
            print(f"  check fixture: stale ({stored} != {key}): rebuilding", flush=True)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    started = time.monotonic()
    conn = await db.connect(dsn)
    try:
        await db.migrate(conn)
        await conn.execute(
            "INSERT INTO brand (id, name, iys_code, brand_code) VALUES ('bench', 'BENCH', $1, $1)",
            BRAND_CODE)
        await conn.execute("SET maintenance_work_mem = '512MB'; SET synchronous_commit = off")
        await conn.execute("ALTER TABLE iys_key_state SET (autovacuum_enabled = false)")
        await conn.execute(LOAD_KEYS, BRAND_CODE, keys // 2)
        print(f"  check fixture: {keys:,} keys in {time.monotonic() - started:.0f} s", flush=True)
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")  # no FK checks
            await conn.execute(LOAD_WAITING, BRAND_CODE, PENDING_RETS + REVIEWS, REVIEWS)
        await conn.execute("ALTER TABLE iys_key_state RESET (autovacuum_enabled)")
        await conn.execute("VACUUM (ANALYZE) iys_key_state, consent_event")
        await conn.execute(
            """INSERT INTO iys_mirror_status (brand_code, pulled_at, push_registered)
               VALUES ($1, now(), false)""", BRAND_CODE)
        await conn.execute("CREATE TABLE bench_fixture AS SELECT $1::text AS key", key)
        await conn.execute("CHECKPOINT")
        print(f"  check fixture: built in {time.monotonic() - started:.0f} s", flush=True)
    finally:
        await conn.close()
    return dsn


def numbers_file(n: int, keys: int) -> Path:
    """The input: n lines, 70 % known, 25 % unknown, 5 % invalid, in mixed shapes."""
    path = DIR / f"numbers-{n}-{keys}-v{GENERATOR_VERSION}.csv"
    if path.exists():
        return path
    rnd = random.Random(29)
    known = keys // 2
    lines = ["telefon"]
    for _ in range(n):
        roll = rnd.random()
        if roll < 0.70:
            national = mobile(rnd.randrange(known))[3:]
        elif roll < 0.95:
            national = f"54{rnd.randrange(10**8):08d}"
        else:
            lines.append(rnd.choice(("0532", "12345", "+90 212 12", "abc", "05321234567890")))
            continue
        shape = rnd.randrange(4)
        a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
        lines.append((f"0{a} {b} {c} {d}", f"+90{national}", national,
                      f"+90 ({a}) {b}-{c}-{d}")[shape])
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.rename(path)
    return path


def one_run(dsn: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": dsn}
    load = os.getloadavg()[0]
    started = time.monotonic()
    with open(os.devnull, "w") as sink:
        proc = subprocess.run(
            [IYS_INBOUND, "check", "--brand", "bench", "--type", "MESAJ", "--no-progress",
             str(path)], stdout=sink, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
            check=False, timeout=600)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"iys-inbound check failed ({proc.returncode}): {proc.stderr}")
    return {"seconds": round(seconds, 2), "loadavg_1m_before": round(load, 2),
            "summary": proc.stderr.strip().splitlines()[0]}


async def run(runs: int | None = None) -> dict[str, Any]:
    n = int(os.environ.get("BENCH_CHECK_NUMBERS", "1000000"))
    keys = int(os.environ.get("BENCH_CHECK_KEYS", "10000000"))
    runs = runs or int(os.environ.get("BENCH_CHECK_RUNS", "3"))
    DIR.mkdir(parents=True, exist_ok=True)
    pg = await asyncio.to_thread(db.start_embedded, DIR / "pgdata")
    try:
        dsn = await ensure(pg.uri, keys)
        path = await asyncio.to_thread(numbers_file, n, keys)
        rows = []
        for i in range(runs):
            row = await asyncio.to_thread(one_run, dsn, path)
            rows.append(row)
            print(f"  check run {i + 1}/{runs}: {n:,} numbers vs {keys:,} keys in "
                  f"{row['seconds']:.2f} s (load {row['loadavg_1m_before']}); "
                  f"{row['summary']}", flush=True)
    finally:
        await asyncio.to_thread(pg.stop)
    seconds = sorted(r["seconds"] for r in rows)
    return {"numbers": n, "keys": keys, "runs": rows, "median_seconds": seconds[len(seconds) // 2],
            "min_seconds": seconds[0], "max_seconds": seconds[-1], "target_seconds": 10}


def check_lines(result: dict[str, Any]) -> list[str]:
    """BENCHMARKS.md's section: every run, not a chosen one."""
    m = result.get("machine", {})
    lines = [f"## Pre-send check: {result['numbers']:,} numbers against {result['keys']:,} keys",
             "",
             f"`iys-inbound check --brand bench --type MESAJ FILE` end to end (process start "
             f"included), {result['numbers']:,} numbers (70 % known, 25 % unknown, 5 % "
             f"invalid, mixed shapes) against a mirror of {result['keys']:,} keys "
             f"(`bench/presend.py`, `--only check`). Target ≤ {result['target_seconds']} s. "
             f"Machine: {m.get('cores')} cores, {m.get('cpu')}; git {m.get('git_commit')}.", "",
             "| run | seconds | load (1 min) before | summary |", "|---|---|---|---|"]
    for i, row in enumerate(result["runs"], 1):
        lines.append(f"| {i} | {row['seconds']:.2f} | {row['loadavg_1m_before']} | "
                     f"{row['summary']} |")
    met = "met" if result["median_seconds"] <= result["target_seconds"] else "NOT met"
    lines += ["", f"Median {result['median_seconds']:.2f} s, spread "
              f"{result['min_seconds']:.2f}–{result['max_seconds']:.2f} s: target {met}.", ""]
    return lines

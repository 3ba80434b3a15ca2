"""Bulk upload (issue #31) in ``make bench``: a 1,000,000-row CSV checked and stored, and an
import pushed through the sandbox's batch endpoint.

* **store**: the file (distinct Turkish mobiles, ONAY, HS_WEB, a date within the window) is
  read, checked and stored by ``inbound.imports.store.store_file`` in this process; the time
  and this process's RSS (sampled every 0.1 s) over its size before, the target being ≤ 60 s
  and ≤ 200 MiB.
* **push**: the stored import pushed by a ``Pusher`` (its ``run``: the import lane's
  pipeline) at ``requests_per_second`` 8 against the sandbox in a process of its own, as İYS
  is remote (``iys-inbound sandbox-iys``, batch results after 1 s, polled 1 s after each
  submit) for ``BENCH_IMPORT_PUSH_SECONDS``; requests sent a second (our attempts table:
  submits, polls, token) over the budget, the target being ≥ 90 %, and the most sent in
  any one second of the clock. No live traffic runs meanwhile, so the budget left to the
  import is the whole 8/s. A list costs a submit and at least one poll (a poll that comes
  before the results counts too: it is a request İYS counts), so the consents accepted a
  second are printed beside it (4,000/s at most at 8 requests/s).

``BENCH_IMPORT_ROWS`` (default 1,000,000), ``BENCH_IMPORT_PUSH_SECONDS`` (default 30),
``BENCH_IMPORT_RUNS`` (default 1). Run alone: ``flock /tmp/iys-bench.lock .venv/bin/python
-m bench.imports`` (prints every run).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import IYS_INBOUND, create_database, free_port, wait_listening
from inbound import db
from inbound.imports.store import Uploader, create, store_file
from iys_push.client import IysSettings
from iys_push.pusher import Pusher
from iys_push.timefmt import TR

MiB = 1024 * 1024


def rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def write_csv(path: Path, rows: int) -> None:
    when = (datetime.now(UTC) - timedelta(minutes=30)).astimezone(TR).strftime(
        "%d.%m.%Y %H:%M")
    with path.open("w", encoding="utf-8") as out:
        out.write("alıcı;tür;durum;kaynak;alıcı tipi;izin tarihi\n")
        for i in range(rows):
            # distinct valid mobiles: 0555 and 0532 … 0554 blocks of ten million
            out.write(f"05{32 + i // 10_000_000} {i // 10000 % 1000:03d} "
                      f"{i // 100 % 100:02d} {i % 100:02d};MESAJ;ONAY;HS_WEB;;{when}\n")


async def store_run(dsn: str, path: Path, rows: int) -> dict[str, Any]:
    pool = await db.connect_pool(dsn, min_size=1, max_size=4)
    try:
        # TRUNCATE, not DELETE: a run after another must not wade through a million dead
        # rows (a DELETE of them outlasted the pool's 60 s timeout, the next claims crawled)
        await pool.execute("TRUNCATE consent_event, consent_submission, consent_import_row, "
                           "consent_import, iys_batch, iys_attempt, iys_key_state, "
                           "webhook_event CASCADE")
        idle = rss()
        peak = idle
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, rss())
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        who = Uploader("cli", "bench")
        started = time.monotonic()
        import_id = await create(pool, "acme", who, path.name, "csv")
        counts = await store_file(pool, import_id, "acme", who, path)
        seconds = time.monotonic() - started
        stop.set()
        await sampler
        run = {"rows": rows, "valid": counts["valid"], "seconds": round(seconds, 1),
               "rows_per_second": round(rows / seconds), "rss_idle_mib": round(idle / MiB),
               "rss_over_idle_mib": round((peak - idle) / MiB),
               "loadavg": [round(x, 2) for x in os.getloadavg()], "import_id": import_id}
        print(f"  store: {rows:,} rows in {run['seconds']} s ({run['rows_per_second']:,}/s), "
              f"RSS +{run['rss_over_idle_mib']} MiB over {run['rss_idle_mib']} MiB; "
              f"load {run['loadavg']}", flush=True)
        return run
    finally:
        await pool.close()


SENT = """SELECT count(*) AS n, count(*) FILTER (WHERE kind = 'batch') AS lists,
                  count(*) FILTER (WHERE kind = 'batch_result') AS polls,
                  COALESCE(max(per_second), 0) AS max_second
             FROM (SELECT kind, count(*) OVER (PARTITION BY date_trunc('second', started_at))
                          AS per_second
                     FROM iys_attempt WHERE started_at >= $1 AND started_at < $2) a"""


async def push_run(dsn: str, seconds: float) -> dict[str, Any]:
    pool = await db.connect_pool(dsn, min_size=1, max_size=8)
    port = free_port()
    sandbox = await asyncio.create_subprocess_exec(
        str(IYS_INBOUND), "sandbox-iys", "--port", str(port), "--batch-result-delay", "1",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL)
    try:
        await wait_listening(port)
        settings = IysSettings(base_url=f"http://127.0.0.1:{port}", username="sandbox",
                               password="sandbox", timeout=10.0, requests_per_second=8.0,
                               batch_threshold=10_000, batch_poll_delay=1.0,
                               lease_seconds=60.0)
        pusher = Pusher(pool, dsn, settings, worker_id="bench-import")
        task = asyncio.create_task(pusher.run())
        await asyncio.sleep(3)          # token, first lists: the steady state after
        start = datetime.now(UTC)
        accepted_before = await pool.fetchval(ACCEPTED)
        await asyncio.sleep(seconds)
        end = datetime.now(UTC)
        accepted = await pool.fetchval(ACCEPTED) - accepted_before
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sent = await pool.fetchrow(SENT, start, end)
    finally:
        sandbox.terminate()
        await sandbox.wait()
        await pool.close()
    rate = sent["n"] / seconds
    run = {"seconds": seconds, "requests": sent["n"], "requests_per_second": round(rate, 2),
           "lists": sent["lists"], "polls": sent["polls"], "budget": 8.0,
           "share_of_budget": round(rate / 8.0, 3),
           "consents_per_second": round(accepted / seconds),
           "max_per_second": sent["max_second"],
           "loadavg": [round(x, 2) for x in os.getloadavg()]}
    # a list costs a submit and at least one poll: 8 requests/s carry 4,000 consents/s at most
    print(f"  push: {rate:.2f} requests/s of 8 ({run['share_of_budget']:.0%}), "
          f"{run['lists']} lists + {run['polls']} polls, {run['consents_per_second']:,} "
          f"consents/s accepted (at most 4,000 at 8 requests/s), max "
          f"{run['max_per_second']} in a second; load {run['loadavg']}", flush=True)
    return run


ACCEPTED = "SELECT count(*) FROM consent_event WHERE state = 'accepted'"


async def run(dsn: str) -> dict[str, Any]:
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
    push_seconds = float(os.environ.get("BENCH_IMPORT_PUSH_SECONDS", "30"))
    runs = int(os.environ.get("BENCH_IMPORT_RUNS", "1"))
    conn = await db.connect(dsn)
    try:
        await db.migrate(conn)
        await conn.execute("INSERT INTO brand (id, name, iys_code, brand_code) VALUES "
                           "('acme', 'ACME', 700001, 700001) ON CONFLICT DO NOTHING")
    finally:
        await conn.close()
    out: dict[str, Any] = {"store": [], "push": []}
    with tempfile.TemporaryDirectory(prefix="iys-bench-import-") as tmp:
        path = Path(tmp) / "consents.csv"
        await asyncio.to_thread(write_csv, path, rows)
        print(f"imports: {rows:,}-row CSV ({path.stat().st_size / MiB:.0f} MiB), "
              f"{runs} run(s)", flush=True)
        for _ in range(runs):
            out["store"].append(await store_run(dsn, path, rows))
            out["push"].append(await push_run(dsn, push_seconds))
    out["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return out


def report_lines(sec: dict[str, Any]) -> list[str]:
    """The bulk-upload section of BENCHMARKS.md: every run, none chosen."""
    lines = ["## Bulk upload", "",
             f"`bench/imports.py`, {sec.get('date', '')}: a CSV checked and stored "
             "(target ≤ 60 s and ≤ 200 MiB RSS over idle for 1,000,000 rows), then pushed "
             "through the sandbox's batch endpoint (target ≥ 90 % of 8 requests/s).", "",
             "| run | rows | seconds | rows/s | RSS over idle | push requests/s | share of "
             "budget | consents/s | load |", "| --- | --- | --- | --- | --- | --- | --- | --- "
             "| --- |"]
    for i, (st, pu) in enumerate(zip(sec.get("store", []), sec.get("push", []),
                                     strict=False), start=1):
        lines.append(f"| {i} | {st['rows']:,} | {st['seconds']} | {st['rows_per_second']:,} "
                     f"| {st['rss_over_idle_mib']} MiB | {pu['requests_per_second']} | "
                     f"{pu['share_of_budget']:.0%} | {pu['consents_per_second']:,} | "
                     f"{st['loadavg']} |")
    stored = [st["seconds"] for st in sec.get("store", [])]
    shares = [pu["share_of_budget"] for pu in sec.get("push", [])]
    if stored and shares:
        lines += ["", f"Spread: stored in {min(stored)}–{max(stored)} s; push "
                      f"{min(shares):.0%}–{max(shares):.0%} of the budget."]
    return lines + [""]


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="iys-bench-") as tmp:
        pg = await asyncio.to_thread(db.start_embedded, Path(tmp) / "pgdata")
        try:
            dsn, _ = await create_database(pg.uri, "bench_imports")
            await run(dsn)
        finally:
            await asyncio.to_thread(pg.stop)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)

"""``python -m bench --only links`` (a section of ``make bench``): consent links minted in
bulk (issue #30), the path of ``iys-inbound links mint`` and ``POST …/links.csv``: a CSV of
recipients parsed and checked, codes generated, hashed and written with COPY in committed
chunks. Target: at least 100,000 links a second. ``BENCH_LINKS_N`` links per run (default
100,000), ``BENCH_LINKS_RUNS`` runs (default 3); every run is printed, with the load
average, and the median is the figure.

Standalone: ``flock /tmp/iys-bench.lock python -m bench.links`` (DATABASE_URL or an embedded
PostgreSQL in a temporary directory).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from typing import Any

from inbound import consent_links, db
from inbound.consent_links import LinkSpec

TARGET = 100_000


async def _one(dsn: str, n: int) -> dict[str, float]:
    pool = await db.connect_pool(dsn, min_size=1, max_size=2)
    try:
        await pool.execute("TRUNCATE consent_link CASCADE")
        text = "recipient\n" + "\n".join(f"0532 {i // 10000 % 1000:03d} {i % 10000:04d}"
                                          for i in range(n)) + "\n"
        started, cpu = time.perf_counter(), time.process_time()
        rows = consent_links.parse_recipients(text, n)
        parsed = time.perf_counter()
        made = 0
        async for codes in consent_links.mint_many(pool, LinkSpec("bench"),
                                                   (r for _, r in rows)):
            made += len(codes)
        ended, cpu = time.perf_counter(), time.process_time() - cpu
        assert made == n == await pool.fetchval("SELECT count(*) FROM consent_link")
        return {"links": n, "seconds": round(ended - started, 3),
                "parse_seconds": round(parsed - started, 3),
                "per_second": round(n / (ended - started)),
                # this process's CPU: what the figure would be with PostgreSQL elsewhere
                # and the machine to ourselves is bounded by it
                "client_cpu_seconds": round(cpu, 3),
                "loadavg": round(os.getloadavg()[0], 2)}
    finally:
        await pool.close()


async def run(dsn: str) -> dict[str, Any]:
    n = int(os.environ.get("BENCH_LINKS_N", "100000"))
    runs = int(os.environ.get("BENCH_LINKS_RUNS", "3"))
    conn = await db.connect(dsn)
    try:
        await db.migrate(conn)
        await conn.execute(
            "INSERT INTO brand (id, name, iys_code, brand_code) VALUES ('bench', 'Bench', 1, 1)"
            " ON CONFLICT DO NOTHING")
    finally:
        await conn.close()
    results = []
    for i in range(runs):
        one = await _one(dsn, n)
        print(f"links: run {i + 1}/{runs}: {one['links']:,} links in {one['seconds']} s "
              f"(parse {one['parse_seconds']} s, client CPU {one['client_cpu_seconds']} s) = "
              f"{one['per_second']:,}/s, "
              f"load {one['loadavg']}", flush=True)
        results.append(one)
    median = statistics.median(r["per_second"] for r in results)
    spread = (min(r["per_second"] for r in results), max(r["per_second"] for r in results))
    verdict = "meets" if median >= TARGET else "MISSES"
    print(f"links: median {median:,.0f} links/s (spread {spread[0]:,}-{spread[1]:,}); "
          f"{verdict} the {TARGET:,}/s target", flush=True)
    return {"runs": results, "median_per_second": median, "target": TARGET,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


async def main() -> None:
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        import pgserver

        dsn = pgserver.get_server(tempfile.mkdtemp(prefix="bench-links-"),
                                  cleanup_mode="delete").get_uri()
    await run(dsn)


if __name__ == "__main__":
    asyncio.run(main())

"""``python -m bench.sign_in``: how long a web sign-in takes for a known and an unknown
e-mail address, wrong password, unlocked and locked (issue #25). Prints figures; asserts
nothing (timings belong in a benchmark, not a test).

The database is ``DATABASE_URL`` or an embedded PostgreSQL in a temporary directory.
``BENCH_SIGN_IN_N`` attempts per case (default 40).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time

import asyncpg

from inbound import db
from inbound.api import admin
from inbound.web import auth

KNOWN = "owner@bench.example"
UNKNOWN = "nobody@bench.example"


async def _time(pool: asyncpg.Pool, email: str, n: int, *, locked: bool) -> list[float]:
    out = []
    for _ in range(n):
        await pool.execute("DELETE FROM web_sign_in_failure")
        if locked:
            await pool.execute(
                "INSERT INTO web_sign_in_failure (email_digest, locked_until) "
                "VALUES ($1, now() + interval '1 hour')", auth.email_digest(email))
        started = time.perf_counter()
        result = await auth.sign_in(pool, email, "wrong-password-123")
        out.append((time.perf_counter() - started) * 1000)
        assert result in ("invalid", "locked", "locked_now"), result
    return out


async def main() -> None:
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        import pgserver

        dsn = pgserver.get_server(tempfile.mkdtemp(prefix="bench-sign-in-"),
                                  cleanup_mode="delete").get_uri()
    conn = await db.connect(dsn)
    try:
        await db.migrate(conn)
    finally:
        await conn.close()
    pool = await db.connect_pool(dsn, min_size=1, max_size=2)
    try:
        owner = await pool.fetchval("SELECT id FROM owner WHERE email = $1", KNOWN) \
            or await admin.create_owner(pool, "Bench", KNOWN)
        await auth.set_password(pool, owner, "the-right-password")
        n = int(os.environ.get("BENCH_SIGN_IN_N", "40"))
        await _time(pool, UNKNOWN, 3, locked=False)  # warm-up: the dummy hash, the pool
        print(f"web sign-in, wrong password, {n} attempts each (ms)")
        print(f"{'case':<26}{'median':>8}{'p10':>8}{'p90':>8}")
        for label, email, locked in (("known e-mail", KNOWN, False),
                                     ("unknown e-mail", UNKNOWN, False),
                                     ("known e-mail, locked", KNOWN, True),
                                     ("unknown e-mail, locked", UNKNOWN, True)):
            times = sorted(await _time(pool, email, n, locked=locked))
            print(f"{label:<26}{statistics.median(times):8.1f}{times[n // 10]:8.1f}"
                  f"{times[n * 9 // 10]:8.1f}")
        await pool.execute("DELETE FROM web_sign_in_failure")
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())

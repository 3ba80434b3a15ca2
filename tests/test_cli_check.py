"""``iys-inbound check`` end to end (a process, the database, a file): the small version of
``make bench``'s check section — 20,000 numbers against 200,000 keys, no timing asserted."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from tests.near_miss import add_review

BRAND_CODE = 900001
KNOWN = 100_000          # recipients with a MESAJ and an ARAMA key each: 200,000 keys


def number(i: int) -> str:
    return f"+9053{i:08d}"


async def fixture(pool: asyncpg.Pool, known: int = KNOWN) -> None:
    await pool.execute("INSERT INTO brand (id, name, iys_code, brand_code) "
                       "VALUES ('bench', 'BENCH', $1, $1)", BRAND_CODE)
    await pool.execute(
        """INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type, status,
                                      consent_date, source, origin)
           SELECT $1, '+9053' || lpad(i::text, 8, '0'), 'BIREYSEL', t,
                  CASE WHEN i % 5 = 0 THEN 'RET' ELSE 'ONAY' END,
                  now() - interval '1 day', 'HS_WEB', 'pull'
             FROM generate_series(0, $2 - 1) AS i, unnest(ARRAY['MESAJ', 'ARAMA']) AS t""",
        BRAND_CODE, known)
    await pool.execute("INSERT INTO iys_mirror_status (brand_code, pulled_at) VALUES ($1, now())",
                       BRAND_CODE)


async def run_cli(dsn: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from inbound.cli import main; main()", "check", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "DATABASE_URL": dsn})
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_the_cli_prints_the_allowed_numbers_and_a_summary(
        pool: asyncpg.Pool, dsn: str, tmp_path: Path) -> None:
    await fixture(pool)
    await add_review(pool, brand="bench", sender=number(7),
                     received_at=datetime.now(UTC) - timedelta(hours=1))
    indexes = range(0, 140_000, 7)                     # 20,000 numbers, 14,286 known
    lines = ["telefon"]
    for i in indexes:
        n = number(i)
        lines.append((f"0{n[3:6]} {n[6:9]} {n[9:11]} {n[11:]}", n, n[3:])[i % 3])
    lines += ["12345", "abc"]
    path = tmp_path / "numbers.csv"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = await run_cli(dsn, "--brand", "bench", "--type", "MESAJ", str(path))
    assert code == 0, err
    expected = [number(i) for i in indexes if i < KNOWN and i % 5 and i != 7]
    assert out.splitlines() == expected
    assert "checked 20,002 recipients" in err
    assert f"allowed {len(expected):,}" in err and "review_pending_here 1" in err
    assert "invalid 2 (not_a_mobile_number 2)" in err
    code, out, err = await run_cli(dsn, "--brand", "bench", "--type", "MESAJ", "--verdicts",
                                   str(path))
    rows = out.splitlines()
    assert code == 0 and rows[0] == "recipient,verdict,reason" and len(rows) == 20_003
    assert rows[1:4] == ["+905300000000,blocked,ret", "+905300000007,blocked,review_pending_here",
                         "+905300000014,allowed,"]
    assert rows[-2:] == ["12345,invalid,not_a_mobile_number", "abc,invalid,not_a_mobile_number"]


async def test_strict_refuses_a_stale_mirror_and_an_unknown_brand_is_named(
        pool: asyncpg.Pool, dsn: str, tmp_path: Path) -> None:
    await fixture(pool, known=10)
    await pool.execute("UPDATE iys_mirror_status SET pulled_at = now() - interval '3 hours'")
    path = tmp_path / "numbers.csv"
    path.write_text(number(1) + "\n")
    code, out, err = await run_cli(dsn, "--brand", "bench", "--type", "MESAJ", "--strict",
                                   str(path))
    assert code == 4 and out == "" and "stale" in err
    code, out, err = await run_cli(dsn, "--brand", "bench", "--type", "MESAJ", str(path))
    assert code == 0 and out == number(1) + "\n" and "STALE" in err
    code, _, err = await run_cli(dsn, "--brand", "nope", "--type", "MESAJ", str(path))
    assert code == 1 and "not found" in err

"""``iys-inbound links mint`` and ``links revoke`` (issue #30): a campaign's CSV in, a CSV of
links out (the bulk path: COPY in committed chunks), a bad file refused whole."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import asyncpg

from inbound import consent_links
from inbound.consent_links import LinkSpec
from tests.api.conftest import seed_rules
from tests.test_cli import run_cli


async def seeded(pool: asyncpg.Pool) -> None:
    owner = await pool.fetchval("INSERT INTO owner (name) VALUES ('x') RETURNING id")
    await seed_rules(pool, owner, owner)


async def test_mint_writes_recipient_and_url_for_every_line(pool: asyncpg.Pool, dsn: str,
                                                            tmp_path: Path) -> None:
    await seeded(pool)
    source = tmp_path / "recipients.csv"
    numbers = [f"0532 {i // 10000:03d} {i % 10000:04d}" for i in range(2500)]
    source.write_text("recipient\n" + "\n".join(numbers) + "\n", encoding="utf-8")
    out = tmp_path / "links.csv"
    result = run_cli("links", "mint", "--brand", "acme", "--out", str(out), str(source),
                     env={"DATABASE_URL": dsn})
    assert result.returncode == 0, result.stderr
    assert "2,500 links minted" in result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["recipient"] for r in rows] == numbers
    codes = [r["url"].rsplit("/", 1)[1] for r in rows]
    assert all(r["url"].startswith("http://127.0.0.1:8080/r/") for r in rows)
    stored = {bytes(r["code_hash"]): r["recipient"] for r in await pool.fetch(
        "SELECT code_hash, recipient FROM consent_link")}
    assert len(stored) == 2500
    # each line's code is that line's recipient's link
    for number, code in zip(numbers[::250], codes[::250], strict=True):
        digest = hashlib.sha256(code.encode()).digest()
        assert stored[digest] == consent_links.normalise_mobile(number)


async def test_mint_refuses_a_file_with_a_bad_line(pool: asyncpg.Pool, dsn: str,
                                                   tmp_path: Path) -> None:
    await seeded(pool)
    source = tmp_path / "recipients.csv"
    source.write_text("05321234567\n0212 123 45 67\n", encoding="utf-8")
    result = run_cli("links", "mint", "--brand", "acme", str(source),
                     env={"DATABASE_URL": dsn})
    assert result.returncode == 1
    assert "line 2" in result.stderr and "no link was made" in result.stderr
    assert await pool.fetchval("SELECT count(*) FROM consent_link") == 0


async def test_revoke(pool: asyncpg.Pool, dsn: str) -> None:
    await seeded(pool)
    link_id, _ = await consent_links.mint_one(pool, LinkSpec("acme"), "+905321234567")
    result = run_cli("links", "revoke", "--brand", "acme", str(link_id),
                     env={"DATABASE_URL": dsn})
    assert result.returncode == 0, result.stderr
    assert await pool.fetchval("SELECT revoked_at FROM consent_link") is not None
    assert run_cli("links", "revoke", "--brand", "acme", "999",
                   env={"DATABASE_URL": dsn}).returncode != 0


async def test_bulk_minting_in_chunks_keeps_the_order(pool: asyncpg.Pool) -> None:
    await seeded(pool)
    recipients = [f"+90532{i:07d}" for i in range(30_000)]
    chunks = [codes async for codes in consent_links.mint_many(
        pool, LinkSpec("acme"), iter(recipients), chunk=7_000)]
    assert [len(c) for c in chunks] == [7000, 7000, 7000, 7000, 2000]
    codes = [c for chunk in chunks for c in chunk]
    rows = await pool.fetch("SELECT code_hash, recipient FROM consent_link ORDER BY id")
    assert len(rows) == 30_000
    assert [bytes(r["code_hash"]) for r in rows[::1000]] == [
        hashlib.sha256(c.encode()).digest() for c in codes[::1000]]
    assert [r["recipient"] for r in rows] == recipients

"""Migrations: applied once, in order, recorded, and safe to run concurrently."""

import asyncio

import asyncpg

from inbound import db
from inbound.rows import ROW_TYPES


async def test_fresh_database_is_fully_migrated(pool: asyncpg.Pool) -> None:
    versions = [r["version"] for r in await pool.fetch("SELECT version FROM schema_migrations")]
    assert versions == [name for name, _ in db.migration_files()]
    tables = {r["tablename"] for r in await pool.fetch("SELECT tablename FROM pg_tables")}
    assert {"sms_in", "mo_message", "consent_event", "iys_attempt", "brand"} <= tables


async def test_migrate_again_applies_nothing(dsn: str) -> None:
    conn = await db.connect(dsn)
    try:
        assert await db.migrate(conn) == []
    finally:
        await conn.close()


async def test_concurrent_migrations_on_empty_database_apply_each_file_once(
    pg_server_dsn: str,
) -> None:
    from tests.conftest import _with_database

    admin = await asyncpg.connect(pg_server_dsn)
    await admin.execute('DROP DATABASE IF EXISTS "mig_race"')
    await admin.execute('CREATE DATABASE "mig_race"')
    await admin.close()
    target = _with_database(pg_server_dsn, "mig_race")
    conns = [await db.connect(target) for _ in range(3)]
    try:
        results = await asyncio.gather(*(db.migrate(c) for c in conns))
        applied = sorted(v for r in results for v in r)
        assert applied == [name for name, _ in db.migration_files()]
    finally:
        for c in conns:
            await c.close()


async def test_the_batch_row_types_match_their_tables(pool: asyncpg.Pool) -> None:
    # the MO batch travels as arrays of these composite types (migrations/0009): a column
    # renamed or retyped in a table and not in its type would fail only at the first batch
    pairs = {"mo_batch_sms_in": "sms_in", "mo_batch_message": "mo_message",
             "mo_batch_event": "consent_event"}
    for row_type, table in pairs.items():
        fields = await pool.fetch(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
                 FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid
                WHERE t.typname = $1 AND a.attnum > 0 ORDER BY a.attnum""", row_type)
        columns = {r["attname"]: r["type"] for r in await pool.fetch(
            """SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
                WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped""", table)}
        assert fields, row_type
        for name, type_ in ((f["attname"], f["type"]) for f in fields):
            if (table, name) == ("sms_in", "fields"):
                type_ = "jsonb"  # JSON text in the row, cast on insert
            assert columns.get(name) == type_, (row_type, name)


async def test_the_batch_row_classes_have_their_types_attributes_in_order(
    pool: asyncpg.Pool
) -> None:
    # rows travel as tuples, matched to the composite type by position (inbound/rows.py)
    for row_type, row_class in ROW_TYPES.items():
        attributes = [r["attname"] for r in await pool.fetch(
            """SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid
                WHERE t.typname = $1 AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attnum""", row_type)]
        assert list(row_class._fields) == attributes, row_type

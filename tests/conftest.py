"""Shared fixtures: a real PostgreSQL for every test, isolated per test.

One embedded PostgreSQL (pgserver) serves the whole run, or the server ``TEST_DATABASE_URL``
names. The migrations are applied once to a template database; every test that asks for
``dsn`` or ``pool`` gets a fresh copy (``CREATE DATABASE … TEMPLATE``), so tests never see
each other's rows and can run in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from inbound import db
from inbound.pipeline import Pipeline
from inbound.writer import AsyncpgWriter, BatchWriter
from tests.pipelines import RULES, store_demo_rules

TEMPLATE = "iys_test_template"
_counter = itertools.count()


def _with_database(dsn: str, name: str) -> str:
    """Same server, other database (works for host/port and Unix-socket DSNs)."""
    base, sep, query = dsn.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}{sep}{query}"


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    # not under pytest's basetemp: pytest deletes all but the newest three of those, so a
    # second pytest run on the machine could remove this run's live data directory
    import pgserver

    data_dir = Path(tempfile.mkdtemp(prefix="iys-inbound-test-pg-"))
    # stopped and deleted when the run ends (the last process holding it exits)
    yield pgserver.get_server(str(data_dir), cleanup_mode="delete").get_uri()


@pytest.fixture(scope="session")
def template_dsn(pg_server_dsn: str) -> str:
    async def build() -> None:
        admin = await asyncpg.connect(pg_server_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
            await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
        finally:
            await admin.close()
        conn = await db.connect(_with_database(pg_server_dsn, TEMPLATE))
        try:
            await db.migrate(conn)
        finally:
            await conn.close()

    asyncio.run(build())
    return _with_database(pg_server_dsn, TEMPLATE)


async def create_database(server_dsn: str, name: str, *, template: str | None = None) -> str:
    """A new database on the test server (a copy of ``template``, else empty); its DSN."""
    admin = await asyncpg.connect(server_dsn)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await admin.close()
    return _with_database(server_dsn, name)


@pytest.fixture
async def dsn(pg_server_dsn: str, template_dsn: str) -> AsyncIterator[str]:
    """A DSN to a fresh, migrated database of this test's own."""
    name = f"t_{next(_counter)}_{uuid.uuid4().hex[:8]}"
    yield await create_database(pg_server_dsn, name, template=TEMPLATE)
    # clean-up only: a database left behind dies with the test server, so a slow drop
    # (a connection still closing) must not fail or hang the test
    with contextlib.suppress(TimeoutError, OSError, asyncpg.PostgresError):
        async with asyncio.timeout(30):
            admin = await asyncpg.connect(pg_server_dsn)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.connect_pool(dsn, min_size=1, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture
def writer(pool: asyncpg.Pool) -> BatchWriter:
    """Where the pipeline writes its batches (inbound/writer.py)."""
    return AsyncpgWriter(pool)


@pytest.fixture
async def pipeline(pool: asyncpg.Pool, writer: BatchWriter) -> Pipeline:
    """The pipeline on the demo rules (also in the database): link l1 sends confirmations,
    the other links send none."""
    await store_demo_rules(pool)
    return Pipeline(writer, RULES, reply_links=frozenset({"l1"}))

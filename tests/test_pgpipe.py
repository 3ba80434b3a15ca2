"""The pipelined connection (inbound/pgpipe.py) against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from inbound.pgpipe import PipelineBroken, PipelinedConnection
from inbound.writer import BatchNotStored
from tests.waiting import wait_until

PUT = ("INSERT INTO brand (id, name, iys_code, brand_code) "
       "VALUES ($1, $1, 1, $2::bigint) RETURNING id, brand_code")
SLOW_PUT = ("INSERT INTO brand (id, name, iys_code, brand_code) "
            "SELECT $1, $1, 1, 1 FROM pg_sleep($2::float8) RETURNING id")
PID = "SELECT pg_backend_pid()"
STATEMENTS = (PUT, SLOW_PUT, PID)


@pytest.fixture
async def piped(dsn: str) -> AsyncIterator[PipelinedConnection]:
    conn = PipelinedConnection(dsn, STATEMENTS)
    yield conn
    await conn.close()


async def brands(pool: asyncpg.Pool) -> list[str]:
    return [r["id"] for r in await pool.fetch("SELECT id FROM brand ORDER BY id")]


async def test_statements_in_flight_together_each_get_their_own_row(
    piped: PipelinedConnection, pool: asyncpg.Pool
) -> None:
    rows = await asyncio.gather(*(piped.fetchrow(PUT, [f"b{i:02}", str(i)])
                                  for i in range(20)))
    assert rows == [(f"b{i:02}", i) for i in range(20)]
    assert await brands(pool) == [f"b{i:02}" for i in range(20)]


async def test_one_statement_failing_rolls_back_only_itself(
    piped: PipelinedConnection, pool: asyncpg.Pool
) -> None:
    # the middle one repeats a key: its own transaction fails, the ones around it commit
    results = await asyncio.gather(piped.fetchrow(PUT, ["x1", "1"]),
                                   piped.fetchrow(PUT, ["x1", "2"]),
                                   piped.fetchrow(PUT, ["x2", "3"]),
                                   return_exceptions=True)
    assert results[0] == ("x1", 1) and results[2] == ("x2", 3)
    assert isinstance(results[1], BatchNotStored) and results[1].sqlstate == "23505"
    assert await pool.fetchval("SELECT brand_code FROM brand WHERE id = 'x1'") == 1
    assert await brands(pool) == ["x1", "x2"]


async def test_a_lost_connection_fails_what_is_in_flight_and_the_next_call_reconnects(
    piped: PipelinedConnection, pool: asyncpg.Pool
) -> None:
    (pid,) = await piped.fetchrow(PID, [])
    in_flight = [asyncio.ensure_future(piped.fetchrow(SLOW_PUT, [f"s{i}", "30"]))
                 for i in range(2)]
    # the first statement is running when its backend goes away
    await wait_until(lambda: pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep%' "
        "AND state = 'active'", pid), what="the first statement running")
    assert await pool.fetchval("SELECT pg_terminate_backend($1)", pid)
    for waiting in in_flight:
        with pytest.raises(PipelineBroken):
            await waiting
    assert await brands(pool) == []                       # nothing of them committed
    (new_pid,) = await piped.fetchrow(PID, [])
    assert new_pid != pid
    assert await piped.fetchrow(PUT, ["after", "7"]) == ("after", 7)


async def test_a_statement_that_cannot_be_prepared_fails_the_connect(dsn: str) -> None:
    bad = "SELECT * FROM no_such_table"
    conn = PipelinedConnection(dsn, [bad])
    with pytest.raises(BatchNotStored, match="no_such_table"):
        await conn.fetchrow(bad, [])


async def test_no_answer_within_the_timeout_breaks_the_connection(dsn: str) -> None:
    # a statement cannot be cancelled alone in a pipeline: the connection goes, and what it
    # held in flight fails (their PDUs are redelivered and recognised if they did commit)
    conn = PipelinedConnection(dsn, STATEMENTS, command_timeout=0.5)
    try:
        (pid,) = await conn.fetchrow(PID, [])
        with pytest.raises(TimeoutError):
            await conn.fetchrow(SLOW_PUT, ["late", "5"])
        (new_pid,) = await conn.fetchrow(PID, [])
        assert new_pid != pid
    finally:
        await conn.close()

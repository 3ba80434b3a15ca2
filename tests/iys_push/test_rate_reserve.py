"""The shared rate limit's statement (iys_push.sql: take_rate_token): a bulk import's
request may reserve the next token before it is there, one reservation at most, and a
request sent now still needs a whole token."""

from __future__ import annotations

import asyncpg

from iys_push import store


async def take(db: asyncpg.Pool, least: float) -> asyncpg.Record:
    # one token deep, one token in 1,000 s: nothing refills while the test runs
    return await db.fetchrow(store.SQL.take_rate_token, "reserve-test", 1.0, 0.001, least)


async def test_one_reservation_at_most_and_a_live_request_needs_a_whole_token(
        db: asyncpg.Pool) -> None:
    first = await take(db, 1.0)
    assert first["tokens"] is not None and first["tokens"] < 0.01   # the bucket's one token
    refused = await take(db, 1.0)
    assert refused["tokens"] is None and refused["wait"] > 900      # ~1,000 s to a token
    reserved = await take(db, 0.0)                                  # an import reserves it
    assert -1.0 <= reserved["tokens"] < -0.99
    again = await take(db, 0.0)                                     # … only once
    assert again["tokens"] is None and again["wait"] > 900
    live = await take(db, 1.0)
    assert live["tokens"] is None and live["wait"] > 1900           # after the reserved one

"""Seeding the mirror: a brand's known numbers checked once through İYS's batch status
(§2.5: 1,000 recipients a request, it lists only those with ONAY).

The changes feed and the daily files reach back seven days only, so consents older than that
are unknown here until a brand seeds them. Seeding sits low in DESIGN.md's request budget
order (below live pushes, status queries that settle events, owner refreshes and pre-send
checks): before each request it waits while the pusher has due events, and it keeps to
``seed_requests_per_second`` besides the shared per-IP limit every request obeys.

Each answer goes into the mirror through mirror.seed_state (origin ``seed``): ONAY for the
listed numbers, RET for the others (no record and RET alike mean "may not be messaged").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import asyncpg

from iys_push import mirror, store
from iys_push.client import IysClient
from iys_push.consent_rules import normalise_recipient

CHUNK = 1000
WAIT_FOR_PUSHER = 0.5     # seconds between looks at the outbox while it has due events


@dataclass
class SeedResult:
    checked: int = 0
    onay: int = 0
    changed: int = 0
    requests: int = 0
    invalid: list[str] = field(default_factory=list)


def recipients_of(lines: Iterable[str], type_: str) -> tuple[list[str], list[str]]:
    """Normalised, de-duplicated recipients of a file (one a line, or the first CSV column;
    a header line and blank lines are skipped), and the lines that are not recipients."""
    seen: dict[str, None] = {}
    invalid = []
    for number, line in enumerate(lines, start=1):
        value = line.split(",", 1)[0].strip().strip('"')
        if not value or (number == 1 and not any(c.isdigit() or c == "@" for c in value)):
            continue
        recipient = normalise_recipient(value, type_)
        if recipient is None:
            invalid.append(value)
        else:
            seen[recipient] = None
    return list(seen), invalid


async def _after_the_pusher(pool: asyncpg.Pool) -> None:
    """Wait while the pusher has due events (they come first in the request budget)."""
    while True:
        if await store.due_count(pool, 1) == 0:
            return
        await asyncio.sleep(WAIT_FOR_PUSHER)


async def seed(pool: asyncpg.Pool, client: IysClient, brand_id: str, recipients: list[str],
               *, type_: str = "MESAJ", recipient_type: str = "BIREYSEL",
               requests_per_second: float = 2.0,
               progress: Callable[[int], None] | None = None) -> SeedResult:
    brand = await pool.fetchrow(mirror.SQL.brand_by_id, brand_id)
    if brand is None:
        raise LookupError(f"unknown brand {brand_id!r}")
    result = SeedResult()
    gap = 1.0 / requests_per_second
    last = -float("inf")
    for start in range(0, len(recipients), CHUNK):
        chunk = recipients[start:start + CHUNK]
        await _after_the_pusher(pool)
        wait = last + gap - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        last = time.monotonic()
        onay = await client.onay_recipients(brand["iys_code"], brand["brand_code"],
                                            recipient_type, type_, chunk)
        result.requests += 1
        result.checked += len(chunk)
        result.onay += len(onay & set(chunk))
        result.changed += await mirror.seed_state(pool, brand["brand_code"], recipient_type,
                                                  type_, onay, chunk)
        if progress is not None:
            progress(len(chunk))
    return result

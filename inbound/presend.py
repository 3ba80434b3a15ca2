"""The pre-send check (issue #29, item 3): may the brand message these numbers now?

DESIGN.md: "the mirror is the only answer". A number is **allowed** only when

1. İYS holds ONAY for the key (brand, recipient, recipient type, type) as the mirror
   ``iys_key_state`` knows it (else blocked: ``ret`` or ``no_record``),
2. no RET for that key is pending here with a consent date at or after the mirror's
   (blocked: ``ret_pending_here``; İYS does not know it yet, the person already said it),
3. no message from that number waits for review at this brand, whatever its key
   (blocked: ``review_pending_here``; a review row is a RET somebody may have meant).

Numbers are normalised as every channel does (``inbound.presend_numbers``); what cannot be a
recipient of the type is **invalid** with a reason. The answer carries ``as_of``: the newest
moment the mirror is complete for (``freshness``), judged against ``[check]``'s limits.

The same ``Check`` serves the JSON form, the streaming CSV form and the CLI: the brand's
events waiting here are read once when it opens (the push backlog, not the ledger), the
mirror chunk by chunk (``CHUNK`` distinct numbers a query by the primary key), and
``stream`` overlaps normalising the next chunk with the database's lookup of the last.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from inbound import sqlfile
from inbound.presend_numbers import Normaliser

SQL = sqlfile.load("inbound", "sql/presend.sql")

CHUNK = 10_000
MAX_INPUT_LENGTH = 100          # characters of one recipient as written
ALLOWED, BLOCKED, INVALID = "allowed", "blocked", "invalid"
BLOCK_REASONS = ("ret", "no_record", "ret_pending_here", "review_pending_here")
INVALID_REASONS = ("empty", "too_long", "not_a_mobile_number", "not_a_phone_number",
                   "not_an_email_address")
_NEVER = datetime.min.replace(tzinfo=UTC)
_NOT_A = {"MESAJ": "not_a_mobile_number", "ARAMA": "not_a_phone_number",
          "EPOSTA": "not_an_email_address"}


@dataclass(frozen=True)
class CheckSettings:
    """``[check]`` in the configuration; these are the one set of defaults."""

    # with İYS's push registered, changes arrive within seconds: the mirror is stale when
    # neither a pushed movement nor a pull came for this long
    fresh_with_push: float = 600.0
    # without it, a pull sees İYS's changes only up to an hour back (IYS_API.md §2.7), so
    # as_of is the last pull less that hour and the limit is above an hour: 75 minutes is a
    # pull at most 15 minutes ago
    fresh_without_push: float = 4500.0
    iys_hidden_window: float = 3600.0
    max_recipients: int = 10_000            # the JSON form's list
    # live=true: batch-status requests (1,000 numbers each, IYS_API.md §2.5) one check may
    # send, and all checks together in a sliding hour (pre-send checks come after the
    # pusher's, the owners' refreshes in DESIGN.md's order; a few percent of 8/s)
    live_requests_per_check: int = 10
    live_requests_per_hour: int = 600


def parse_settings(reader: Any) -> CheckSettings:
    """``[check]`` through config.py's typed reader (every error names the key)."""
    d = CheckSettings()
    return CheckSettings(
        fresh_with_push=reader.number("fresh_with_push", float, d.fresh_with_push, 10, 86400),
        fresh_without_push=reader.number("fresh_without_push", float, d.fresh_without_push,
                                         60, 7 * 86400),
        iys_hidden_window=reader.number("iys_hidden_window", float, d.iys_hidden_window,
                                        0, 86400),
        max_recipients=reader.number("max_recipients", int, d.max_recipients, 1, 100_000),
        live_requests_per_check=reader.number("live_requests_per_check", int,
                                              d.live_requests_per_check, 0, 1000),
        live_requests_per_hour=reader.number("live_requests_per_hour", int,
                                             d.live_requests_per_hour, 0, 36_000),
    )


@dataclass(frozen=True)
class Freshness:
    as_of: datetime | None        # None: the mirror was never fed for this brand
    age_seconds: float | None
    max_age_seconds: float
    push_registered: bool
    fresh: bool

    def to_json(self) -> dict[str, Any]:
        return {"verdict": "fresh" if self.fresh else "stale",
                "as_of": self.as_of.isoformat() if self.as_of else None,
                "age_seconds": None if self.age_seconds is None else round(self.age_seconds, 1),
                "max_age_seconds": self.max_age_seconds,
                "push_registered": self.push_registered}


def freshness(brand: asyncpg.Record, settings: CheckSettings) -> Freshness:
    """as_of: with push registered the newest of the last pull and the last pushed movement
    (İYS pushes each change as it happens); without, the last pull less İYS's hidden hour."""
    if brand["push_registered"]:
        moments = [t for t in (brand["pulled_at"], brand["pushed_at"]) if t is not None]
        as_of = max(moments) if moments else None
        limit = settings.fresh_with_push
    else:
        pulled = brand["pulled_at"]
        as_of = pulled - timedelta(seconds=settings.iys_hidden_window) if pulled else None
        limit = settings.fresh_without_push
    age = (brand["now"] - as_of).total_seconds() if as_of else None
    return Freshness(as_of, age, limit, brand["push_registered"],
                     age is not None and age <= limit)


# one input's outcome: as written, normalised (None: invalid), verdict, reason ("" allowed)
Verdict = tuple[str, str | None, str, str]


class Check:
    """One check of one brand for one (type, recipient type); see the module's docstring."""

    def __init__(self, brand: asyncpg.Record, type_: str, recipient_type: str,
                 settings: CheckSettings, waiting: Iterable[asyncpg.Record]) -> None:
        self.brand_id: str = brand["id"]
        self.iys_code: int = brand["iys_code"]
        self.brand_code: int = brand["brand_code"]
        self.type = type_
        self.recipient_type = recipient_type
        self.freshness = freshness(brand, settings)
        self.normalise = Normaliser(type_)
        self._not_a = _NOT_A[type_]
        self.ret_pending: dict[str, datetime] = {}   # recipient → its newest pending RET
        self.review: set[str] = set()
        for row in waiting:
            if row["state"] == "review":
                self.review.add(row["recipient"])
            elif row["consent_date"] > self.ret_pending.get(row["recipient"], _NEVER):
                self.ret_pending[row["recipient"]] = row["consent_date"]

    @classmethod
    async def open(cls, conn: asyncpg.Connection | asyncpg.Pool, brand_id: str, type_: str,
                   recipient_type: str, settings: CheckSettings) -> Check | None:
        """None when the brand does not exist."""
        brand = await conn.fetchrow(SQL.check_brand, brand_id)
        if brand is None:
            return None
        waiting = await conn.fetch(SQL.check_waiting_here, brand["brand_code"],
                                   recipient_type, type_)
        return cls(brand, type_, recipient_type, settings, waiting)

    def normalised(self, raws: list[str]) -> list[str | None]:
        normalise = self.normalise
        return [normalise(r) if 0 < len(r) <= MAX_INPUT_LENGTH else None for r in raws]

    def lookup(self, conn: asyncpg.Connection | asyncpg.Pool, recipients: list[str]
               ) -> Any:
        """The mirror's rows for ``recipients`` (distinct, ≤ CHUNK): an awaitable."""
        return conn.fetch(SQL.check_mirror_chunk, self.brand_code, self.recipient_type,
                          self.type, recipients)

    def why(self, recipient: str, row: tuple[str, datetime | None] | None) -> str:
        """The reason ``recipient`` is blocked, "" when it is allowed."""
        if row is None:
            return "no_record"
        if row[0] != "ONAY":
            return "ret"
        pending = self.ret_pending.get(recipient)
        if pending is not None and (row[1] is None or pending >= row[1]):
            return "ret_pending_here"
        if recipient in self.review:
            return "review_pending_here"
        return ""

    def verdicts(self, raws: list[str], normalised: list[str | None],
                 rows: Iterable[asyncpg.Record]) -> list[Verdict]:
        found = {r[0]: (r[1], r[2]) for r in rows}
        pending, review, why = self.ret_pending, self.review, self.why
        out: list[Verdict] = []
        append = out.append
        for raw, recipient in zip(raws, normalised, strict=True):
            if recipient is None:
                append((raw, None, INVALID, self.invalid_reason(raw)))
                continue
            row = found.get(recipient)
            if (row is not None and row[0] == "ONAY" and recipient not in pending
                    and recipient not in review):       # the common case, without a call
                append((raw, recipient, ALLOWED, ""))
                continue
            reason = why(recipient, row)
            append((raw, recipient, BLOCKED if reason else ALLOWED, reason))
        return out

    def invalid_reason(self, raw: str) -> str:
        if not raw.strip():
            return "empty"
        return "too_long" if len(raw) > MAX_INPUT_LENGTH else self._not_a


async def stream(conns: list[asyncpg.Connection], check: Check,
                 chunks: AsyncIterator[list[str]]) -> AsyncIterator[list[Verdict]]:
    """The verdicts of each chunk of inputs, in order. Chunk k is looked up on connection
    k mod len(conns), up to one lookup in flight per connection: while the database looks
    up the last chunks, the next is read and normalised and the oldest's verdicts are
    written by the caller (a connection runs one query at a time; two let the database use
    a second core while this process works)."""
    inflight: deque[tuple[list[str], list[str | None], asyncio.Future[Any]]] = deque()
    k = 0
    async for raws in chunks:
        normalised = check.normalised(raws)
        distinct = list({r for r in normalised if r is not None})
        oldest = inflight.popleft() if len(inflight) == len(conns) else None
        if oldest is not None:
            rows = await oldest[2]             # frees conns[k % len(conns)]
        task = asyncio.ensure_future(check.lookup(conns[k % len(conns)], distinct))
        await asyncio.sleep(0)                 # let the query go out before the CPU work
        inflight.append((raws, normalised, task))
        k += 1
        if oldest is not None:
            yield check.verdicts(oldest[0], oldest[1], rows)
    while inflight:
        raws, normalised, task = inflight.popleft()
        yield check.verdicts(raws, normalised, await task)

"""The one seam between the MO pipeline and PostgreSQL: :class:`BatchWriter`.

Every MO batch is written through it, in one statement or two, each its own transaction. A
plain batch (no concatenated parts, no replies) is one statement: :meth:`BatchWriter.insert_new`
writes it unless an earlier copy of one of its PDUs exists, and then writes nothing and
returns the copies; the pipeline builds the batch again knowing them and writes it with
:meth:`BatchWriter.write`. A batch with parts or replies needs real ids in Python, the parts
waiting from earlier batches and the recent replies: :meth:`BatchWriter.prepare` reads them
(and allocates the ids), then :meth:`BatchWriter.write` writes everything at once.

A writer raises only :class:`BatchNotStored` (with the SQLSTATE when the server refused):
whatever the driver, the batch was not stored, and its PDUs are answered with an error.

:class:`AsyncpgWriter` is the writer: each statement on a pool connection of its own, so the
session's ``pipeline_depth`` batches are in flight together (group commit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import asyncpg

from inbound.db import DATABASE_ERRORS
from inbound.replies_limit import Sent
from inbound.rows import EventRow, MessageRow, PartRow, ReplyRow, SmsInRow
from inbound.store import SQL


class BatchNotStored(Exception):
    """The batch was not stored (refused by the server, or the connection failed): none of
    its PDUs may be acknowledged. ``sqlstate`` is the server's error code, if it answered."""

    def __init__(self, reason: str, *, sqlstate: str | None = None) -> None:
        super().__init__(reason)
        self.sqlstate = sqlstate


class ClaimedPart(NamedTuple):
    """A part waiting from an earlier batch, given the message this batch completes."""

    sms_in_id: int
    message_id: int


@dataclass
class BatchRows:
    """One batch's rows for one link. Negative ids stand for ids the statement allocates
    (a plain batch); the other lists stay empty in a plain batch."""

    link: str
    sms_in: list[SmsInRow] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    parts: list[PartRow] = field(default_factory=list)        # kept in sms_part
    claimed: list[ClaimedPart] = field(default_factory=list)
    sms_out: list[ReplyRow] = field(default_factory=list)     # the replies chosen to send


class EarlierCopy(NamedTuple):
    """The latest earlier copy of one of a batch's PDUs on its link (redelivery or repeat)."""

    digest: bytes
    original_id: int                # the first copy: what a redelivery points at
    session_id: int | None          # the session that received it (None: before 0011)
    received_at: datetime
    answered_after: float | None    # seconds from its receipt to its row's write
    event_since: bool               # an event for its recipient and brand came in after it


class Prepared(NamedTuple):
    """What a batch with parts or replies reads before it is built: ids allocated for it,
    the copies found, the recent replies to the recipients asked about, and the parts still
    waiting of the concatenation keys asked about (every key present, in part order)."""

    sms_in_ids: list[int]
    message_ids: list[int]
    copies: list[EarlierCopy]
    recent_replies: list[Sent]
    waiting_parts: dict[str, list[PartRow]]     # message_id None: still waiting


class BatchWriter(Protocol):
    """Where the pipeline writes its batches (module docstring)."""

    async def insert_new(self, rows: BatchRows, since: datetime) -> list[EarlierCopy]:
        """Write a plain batch unless one of its PDUs has a copy received on its link after
        ``since``: then write nothing and return the copies (ordered by digest)."""
        ...

    async def prepare(self, link: str, digests: Sequence[bytes], since: datetime,
                      sms_in_count: int, message_count: int, recipients: Sequence[str],
                      replies_since: datetime, concat_keys: Sequence[str]) -> Prepared:
        """Read what a batch with parts or replies depends on and allocate its ids."""
        ...

    async def write(self, rows: BatchRows) -> None:
        """Write a batch whose copies are known (a prepared one, or a plain one again)."""
        ...

    async def first_pdu(self, sms_in_id: int) -> bytes:
        """The raw PDU of a stored part (the incomplete-part sweep decodes it again)."""
        ...

    async def stale_part_keys(self, older_than: datetime) -> list[tuple[str, str]]:
        """(link, concat key) of parts still waiting for the rest since before
        ``older_than``."""
        ...

    async def close(self) -> None: ...


@contextlib.contextmanager
def not_stored() -> Iterator[None]:
    """asyncpg's failures as :class:`BatchNotStored`."""
    try:
        yield
    except asyncpg.PostgresError as exc:
        raise BatchNotStored(f"{type(exc).__name__}: {exc}", sqlstate=exc.sqlstate) from exc
    except DATABASE_ERRORS as exc:  # the link, not the statement: no SQLSTATE to give
        raise BatchNotStored(f"{type(exc).__name__}: {exc}") from exc


def copies_of(row: Any) -> list[EarlierCopy]:
    """The copies in a batch statement's six original_* columns (one array per column)."""
    return [EarlierCopy(*copy) for copy in zip(
        row["original_digests"], row["original_ids"], row["original_sessions"],
        row["original_received"], row["original_answered_after"],
        row["original_event_since"], strict=True)]


class AsyncpgWriter:
    """Every statement on a connection of ``pool``: batches in flight at the same time each
    take one (the pool must have a connection for each of them, plus its other users)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert_new(self, rows: BatchRows, since: datetime) -> list[EarlierCopy]:
        with not_stored():
            row = await self.pool.fetchrow(SQL.insert_new_mo_batch, rows.link, rows.sms_in,
                                           rows.messages, rows.events, since)
        return copies_of(row)

    async def prepare(self, link: str, digests: Sequence[bytes], since: datetime,
                      sms_in_count: int, message_count: int, recipients: Sequence[str],
                      replies_since: datetime, concat_keys: Sequence[str]) -> Prepared:
        with not_stored():
            row = await self.pool.fetchrow(SQL.prepare_mo_batch, link, list(digests), since,
                                           sms_in_count, message_count, list(recipients),
                                           replies_since, list(concat_keys))
        waiting: dict[str, list[PartRow]] = {key: [] for key in concat_keys}
        for part in row["waiting_parts"]:
            waiting[part["concat_key"]].append(PartRow(*part))
        return Prepared(list(row["sms_in_ids"]), list(row["message_ids"]), copies_of(row),
                        [Sent(*r) for r in row["recent_replies"]], waiting)

    async def write(self, rows: BatchRows) -> None:
        claimed = rows.claimed
        with not_stored():
            await self.pool.fetchrow(SQL.write_mo_batch, rows.link, rows.sms_in,
                                     rows.messages, rows.events, rows.parts,
                                     [c.sms_in_id for c in claimed],
                                     [c.message_id for c in claimed], rows.sms_out)

    async def first_pdu(self, sms_in_id: int) -> bytes:
        with not_stored():
            return bytes(await self.pool.fetchval(SQL.sms_in_pdu, sms_in_id))

    async def stale_part_keys(self, older_than: datetime) -> list[tuple[str, str]]:
        with not_stored():
            return [(r["link"], r["concat_key"])
                    for r in await self.pool.fetch(SQL.stale_part_keys, older_than)]

    async def close(self) -> None:
        """The pool is its owner's to close."""

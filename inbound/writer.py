"""The one seam between the MO pipeline and PostgreSQL: :class:`BatchWriter`.

Every MO batch is written through it. A plain batch (no concatenated parts, no replies) is
one statement, its own transaction: :meth:`BatchWriter.insert_new` writes it unless an
earlier copy of one of its PDUs exists, and then writes nothing and returns the copies;
the pipeline builds the batch again knowing them and writes it with
:meth:`BatchWriter.insert`. A batch with parts or replies needs real ids in Python and
several statements in one transaction: :meth:`BatchWriter.transaction`.

A writer raises only :class:`BatchNotStored` (with the SQLSTATE when the server refused):
whatever the driver, the batch was not stored, and its PDUs are answered with an error.

:class:`AsyncpgWriter` is the writer: each batch on a pool connection of its own, so the
session's ``pipeline_depth`` batches are in flight together (group commit).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import asyncpg

from inbound.replies_limit import Reply, Sent
from inbound.rows import EventRow, MessageRow, SmsInRow
from inbound.store import SQL


class BatchNotStored(Exception):
    """The batch was not stored (refused by the server, or the connection failed): none of
    its PDUs may be acknowledged. ``sqlstate`` is the server's error code, if it answered."""

    def __init__(self, reason: str, *, sqlstate: str | None = None) -> None:
        super().__init__(reason)
        self.sqlstate = sqlstate


@dataclass
class BatchRows:
    """One batch's rows for one link. Negative ids stand for ids the statement allocates."""

    link: str
    sms_in: list[SmsInRow] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)


class EarlierCopy(NamedTuple):
    """The latest earlier copy of one of a batch's PDUs on its link (redelivery or repeat)."""

    digest: bytes
    original_id: int                # the first copy: what a redelivery points at
    session_id: int | None          # the session that received it (None: before 0011)
    received_at: datetime
    answered_after: float | None    # seconds from its receipt to its row's write
    event_since: bool               # an event for its recipient and brand came in after it


class Prepared(NamedTuple):
    """Ids allocated for a batch written in a transaction, the copies found, and the recent
    replies to the recipients asked about."""

    sms_in_ids: list[int]
    message_ids: list[int]
    copies: list[EarlierCopy]
    recent_replies: list[Sent]


class StoredPart(NamedTuple):
    """A concatenation part waiting for the rest of its message."""

    sms_in_id: int
    part_no: int
    total: int
    payload: bytes
    data_coding: int
    locking_shift: int | None
    single_shift: int | None
    received_at: datetime


class NewPart(NamedTuple):
    """A concatenation part to keep until the rest of its message arrives."""

    sms_in_id: int
    concat_key: str
    part_no: int
    total: int
    payload: bytes
    data_coding: int
    locking_shift: int | None
    single_shift: int | None
    received_at: datetime


class BatchTransaction(Protocol):
    """The statements of a batch with concatenated parts or replies, in one transaction."""

    async def prepare(self, link: str, digests: Sequence[bytes], since: datetime,
                      sms_in_count: int, message_count: int, recipients: Sequence[str],
                      replies_since: datetime) -> Prepared: ...
    async def insert(self, rows: BatchRows) -> None: ...
    async def add_parts(self, link: str, parts: Sequence[NewPart]) -> None: ...
    async def pending_parts_of(self, link: str, concat_keys: Sequence[str]
                               ) -> dict[str, list[StoredPart]]: ...
    async def first_pdu(self, sms_in_id: int) -> bytes: ...
    async def assemble_parts(self, link: str, concat_keys: Sequence[str]) -> list[int]: ...
    async def insert_replies(self, link: str, replies: Sequence[Reply]) -> None: ...


class BatchWriter(Protocol):
    """Where the pipeline writes its batches (module docstring)."""

    async def insert_new(self, rows: BatchRows, since: datetime) -> list[EarlierCopy]:
        """Write a plain batch unless one of its PDUs has a copy received on its link after
        ``since``: then write nothing and return the copies (ordered by digest)."""
        ...

    async def insert(self, rows: BatchRows) -> None:
        """Write a plain batch, its copies known."""
        ...

    def transaction(self) -> contextlib.AbstractAsyncContextManager[BatchTransaction]:
        """A transaction for a batch with parts or replies (committed on leaving)."""
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
    except (OSError, asyncpg.InterfaceError, TimeoutError) as exc:
        raise BatchNotStored(f"{type(exc).__name__}: {exc}") from exc


def copies_of(row: Any) -> list[EarlierCopy]:
    """The copies in a batch statement's last six columns (one array per column)."""
    return [EarlierCopy(*copy) for copy in zip(
        row["original_digests"], row["original_ids"], row["original_sessions"],
        row["original_received"], row["original_answered_after"],
        row["original_event_since"], strict=True)]


class AsyncpgTransaction:
    """:class:`BatchTransaction` on one asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def prepare(self, link: str, digests: Sequence[bytes], since: datetime,
                      sms_in_count: int, message_count: int, recipients: Sequence[str],
                      replies_since: datetime) -> Prepared:
        with not_stored():
            row = await self.conn.fetchrow(SQL.prepare_mo_batch, link, list(digests), since,
                                           sms_in_count, message_count, list(recipients),
                                           replies_since)
        return Prepared(list(row["sms_in_ids"]), list(row["message_ids"]), copies_of(row),
                        [Sent(*r) for r in row["recent_replies"]])

    async def insert(self, rows: BatchRows) -> None:
        with not_stored():
            await self.conn.fetchrow(SQL.insert_mo_batch, rows.link, rows.sms_in,
                                     rows.messages, rows.events)

    async def add_parts(self, link: str, parts: Sequence[NewPart]) -> None:
        columns = list(zip(*parts, strict=True)) if parts else [[]] * len(NewPart._fields)
        with not_stored():
            await self.conn.execute(SQL.insert_parts, link, *(list(c) for c in columns))

    async def pending_parts_of(self, link: str, concat_keys: Sequence[str]
                               ) -> dict[str, list[StoredPart]]:
        found: dict[str, list[StoredPart]] = {key: [] for key in concat_keys}
        with not_stored():
            for r in await self.conn.fetch(SQL.pending_parts_of_keys, link, list(concat_keys)):
                found[r["concat_key"]].append(StoredPart(*tuple(r)[1:]))
        return found

    async def first_pdu(self, sms_in_id: int) -> bytes:
        with not_stored():
            return bytes(await self.conn.fetchval(SQL.sms_in_pdu, sms_in_id))

    async def assemble_parts(self, link: str, concat_keys: Sequence[str]) -> list[int]:
        """A new message id for each key, given to its waiting parts and their PDUs."""
        with not_stored():
            return list(await self.conn.fetchval(SQL.claim_parts, link, list(concat_keys)))

    async def insert_replies(self, link: str, replies: Sequence[Reply]) -> None:
        with not_stored():
            await self.conn.executemany(SQL.insert_reply, [
                (r.message_id, link, r.recipient, r.number, r.text, r.kind) for r in replies])


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

    async def insert(self, rows: BatchRows) -> None:
        with not_stored():
            await self.pool.fetchrow(SQL.insert_mo_batch, rows.link, rows.sms_in,
                                     rows.messages, rows.events)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[BatchTransaction]:
        with not_stored():
            async with self.pool.acquire() as conn, conn.transaction():
                yield AsyncpgTransaction(conn)

    async def stale_part_keys(self, older_than: datetime) -> list[tuple[str, str]]:
        with not_stored():
            return [(r["link"], r["concat_key"])
                    for r in await self.pool.fetch(SQL.stale_part_keys, older_than)]

    async def close(self) -> None:
        """The pool is its owner's to close."""

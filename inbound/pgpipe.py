"""One PostgreSQL connection in libpq's pipeline mode, for the MO batch statements.

Why (docs/DESIGN-NOTES.md, "PostgreSQL: asyncpg, and one pipelined connection" and "The
last levers"): through two asyncpg pool connections, every batch wakes a PostgreSQL backend,
and a third batch in flight costs a third backend. On one pipelined connection the next batch
is already on the backend's socket when the previous one commits, and batches in flight cost
nothing more: window 50 took ~25 % more MO/s with three in flight (12 of 13 alternated
rounds). asyncpg cannot pipeline, so this uses libpq through psycopg's ``pq`` layer.

Kept only to measure it against :class:`inbound.writer.AsyncpgWriter` behind the same seam
(:class:`PipelinedWriter`, chosen with ``IYS_BATCH_WRITER=pipelined``; docs/DESIGN-NOTES.md).

Each statement is sent with its own Sync, so each is its own implicit transaction: all or
nothing, one commit, exactly as a statement on an asyncpg connection outside a transaction.
Results come back in the order sent. A refused statement raises :class:`BatchNotStored` with
its SQLSTATE (only its own transaction is rolled back). A lost connection fails every
statement in flight (their PDUs are not acknowledged and will be redelivered) and the next
call connects again; so does a socket that stays unwritable for the command timeout.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import psycopg
import structlog
from psycopg import pq
from psycopg.adapt import Transformer

from inbound import pgtext
from inbound.store import SQL
from inbound.writer import (
    AsyncpgWriter,
    BatchNotStored,
    BatchRows,
    BatchTransaction,
    EarlierCopy,
)

log = structlog.get_logger(__name__)


class PipelineBroken(BatchNotStored):
    """The connection was lost with statements in flight; none of them is known committed."""


def postgres_error(sqlstate: str, message: str) -> BatchNotStored:
    return BatchNotStored(message, sqlstate=sqlstate)


@dataclass
class _Waiting:
    future: asyncio.Future[tuple[Any, ...]]
    row: tuple[Any, ...] | None = None
    error: Exception | None = None


class PipelinedConnection:
    """``statements`` prepared at connect, then executed like asyncpg's ``fetchrow(query,
    ...)``, by their text, with text parameters."""

    def __init__(self, dsn: str, statements: Iterable[str], *,
                 command_timeout: float = 60.0) -> None:
        self._dsn = dsn
        # the server-side name of each statement (PREPARE ... AS)
        self._names = {sql: f"iys_pipelined_{n}" for n, sql in enumerate(statements)}
        self._command_timeout = command_timeout  # as the asyncpg pool's (inbound/db.py)
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._connecting = asyncio.Lock()
        self._flushing = asyncio.Lock()   # one writer callback on the socket at a time
        self._waiting: collections.deque[_Waiting] = collections.deque()
        self._transformer: Transformer | None = None
        self._fd = -1
        self._writable: asyncio.Future[None] | None = None  # what _flush waits for

    async def fetchrow(self, query: str, params: Sequence[str | None]) -> tuple[Any, ...]:
        """Execute ``query`` (one of the prepared statements); its one result row once
        committed.

        No answer within the command timeout breaks the connection (a statement cannot be
        cancelled alone in a pipeline): everything in flight fails, as with a lost one.
        """
        name = self._names[query]
        # connected: no lock to take on the hot path
        conn = self._conn if self._conn is not None else await self._connected()
        waiting = _Waiting(asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)  # before sending: a failure below must fail it too
        try:
            conn.pgconn.send_query_prepared(name.encode(), [
                None if p is None else p.encode() for p in params], None, pq.Format.TEXT)
            conn.pgconn.pipeline_sync()
            async with self._flushing:
                await self._flush(conn.pgconn)
        except psycopg.Error as exc:
            self._broken(PipelineBroken(f"sending {name}: {exc}"))
        except PipelineBroken:
            pass  # waiting fails with it too (_broken)
        try:
            return await asyncio.wait_for(waiting.future, self._command_timeout)
        except TimeoutError:
            self._broken(PipelineBroken(f"{name}: no answer in {self._command_timeout:g} s"))
            raise

    async def close(self) -> None:
        if self._conn is not None:
            self._broken(PipelineBroken("connection closed"))

    async def _connected(self) -> psycopg.AsyncConnection[Any]:
        async with self._connecting:
            if self._conn is None:
                try:
                    conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
                except psycopg.OperationalError as exc:  # its message holds no password
                    raise PipelineBroken(f"connecting: {exc}") from exc
                try:
                    for sql, name in self._names.items():
                        # SQL PREPARE, awaited (libpq's prepare would block the event loop,
                        # which may be what holds a lock the statement's tables wait for)
                        await conn.execute(f"PREPARE {name} AS {sql}", prepare=False)
                except psycopg.Error as exc:
                    await conn.close()
                    raise postgres_error(exc.sqlstate or "XX000", str(exc)) from exc
                pgconn = conn.pgconn
                pgconn.nonblocking = 1
                pgconn.enter_pipeline_mode()
                self._fd = pgconn.socket  # kept: a lost connection has no socket to ask for
                asyncio.get_running_loop().add_reader(self._fd, self._readable)
                self._transformer = Transformer(conn)
                self._conn = conn
            return self._conn

    async def _flush(self, pgconn: pq.abc.PGconn) -> None:
        """Send what libpq buffered; wait for the socket while the kernel's buffer is full.

        The wait ends when the socket is writable, when the connection breaks (_broken
        fails it: the lock holder must not wait for a socket nobody watches any more) or
        after the command timeout, which breaks the connection; either way the lock is
        released and the batches queued behind it fail at once instead of waiting."""
        loop = asyncio.get_running_loop()
        while pgconn.flush() == 1:
            fd = self._fd
            if fd < 0:
                raise PipelineBroken("connection lost while sending")
            writable: asyncio.Future[None] = loop.create_future()
            self._writable = writable
            loop.add_writer(fd, lambda w=writable: w.done() or w.set_result(None))
            try:
                await asyncio.wait_for(writable, self._command_timeout)
            except TimeoutError:
                error = PipelineBroken(f"socket not writable in {self._command_timeout:g} s")
                self._broken(error)
                raise error from None
            finally:
                self._writable = None
                if self._fd == fd:
                    loop.remove_writer(fd)

    def _readable(self) -> None:
        conn = self._conn
        if conn is None:
            return
        pgconn = conn.pgconn
        try:
            pgconn.consume_input()
            while self._waiting and not pgconn.is_busy():
                res = pgconn.get_result()
                if res is None:  # the end of one statement's results; its Sync follows
                    continue
                self._result(res)
        except psycopg.Error as exc:
            self._broken(PipelineBroken(f"reading results: {exc}"))
            return
        if pgconn.status != pq.ConnStatus.OK:
            self._broken(PipelineBroken("connection lost"))

    def _result(self, res: pq.abc.PGresult) -> None:
        waiting = self._waiting[0]
        status = res.status
        if status == pq.ExecStatus.TUPLES_OK:
            assert self._transformer is not None
            self._transformer.set_pgresult(res)
            waiting.row = self._transformer.load_row(0, tuple)
        elif status == pq.ExecStatus.PIPELINE_SYNC:  # this statement's transaction is over
            self._waiting.popleft()
            if waiting.future.done():
                return
            if waiting.error is not None:
                waiting.future.set_exception(waiting.error)
            elif waiting.row is None:
                waiting.future.set_exception(postgres_error("XX000", "no result row"))
            else:
                waiting.future.set_result(waiting.row)
        elif status == pq.ExecStatus.FATAL_ERROR:
            waiting.error = postgres_error(_sqlstate(res), _message(res))
        elif status == pq.ExecStatus.PIPELINE_ABORTED:  # follows an error before its Sync
            waiting.error = waiting.error or postgres_error("25P02", "pipeline aborted")
        else:
            waiting.error = postgres_error("XX000", f"unexpected result {status.name}")

    def _broken(self, error: PipelineBroken) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._fd)
            loop.remove_writer(self._fd)
            self._fd = -1
            conn.pgconn.finish()  # psycopg then counts the connection as closed
        if self._writable is not None and not self._writable.done():
            self._writable.set_exception(error)
        waiting, self._waiting = self._waiting, collections.deque()
        for w in waiting:
            if not w.future.done():
                w.future.set_exception(error)
        if waiting:
            log.warning("batch connection lost", in_flight=len(waiting), reason=str(error))


def _sqlstate(res: pq.abc.PGresult) -> str:
    return (res.error_field(pq.DiagnosticField.SQLSTATE) or b"XX000").decode()


def _message(res: pq.abc.PGresult) -> str:
    primary = res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or res.error_message
    return primary.decode(errors="replace").strip()


# the plain batch's statements, prepared on the pipelined connection
BATCH_STATEMENTS = (SQL.insert_new_mo_batch, SQL.insert_mo_batch)


def _literals(rows: BatchRows) -> list[str | None]:
    """The batch statements' parameters as text: the link, then the sms_in, mo_message and
    consent_event rows, each an array of its row type written as a literal (pgtext)."""
    return [rows.link, pgtext.record_array(rows.sms_in), pgtext.record_array(rows.messages),
            pgtext.record_array(rows.events)]


class PipelinedWriter:
    """:class:`inbound.writer.BatchWriter` with plain batches on one pipelined connection;
    batches with parts or replies (a transaction of several statements) on the pool."""

    def __init__(self, dsn: str, pool: asyncpg.Pool) -> None:
        self.conn = PipelinedConnection(dsn, BATCH_STATEMENTS)
        self.pooled = AsyncpgWriter(pool)

    async def insert_new(self, rows: BatchRows, since: datetime) -> list[EarlierCopy]:
        found = await self.conn.fetchrow(SQL.insert_new_mo_batch,
                                         [*_literals(rows), pgtext.timestamp(since)])
        # columns: sms_in, messages, events, brands_exist, then the copies (one array each)
        return [EarlierCopy(*copy) for copy in zip(*found[4:], strict=True)]

    async def insert(self, rows: BatchRows) -> None:
        await self.conn.fetchrow(SQL.insert_mo_batch, _literals(rows))

    def transaction(self) -> contextlib.AbstractAsyncContextManager[BatchTransaction]:
        return self.pooled.transaction()

    async def stale_part_keys(self, older_than: datetime) -> list[tuple[str, str]]:
        return await self.pooled.stale_part_keys(older_than)

    async def close(self) -> None:
        await self.conn.close()

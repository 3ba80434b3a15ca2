"""Each configured link is bound by exactly one process at a time.

Ownership is a PostgreSQL session-level advisory lock held on a connection of its own. The
lock lives exactly as long as that connection: if the owning process dies (or is cut off
from the database) the server releases it and a standby process takes the link over at its
next try, a few seconds later. The lock's connection is kept by the one reconnect loop for
dedicated connections (``db.hold_connection``); when it breaks, the session keeps running
and the lock is taken again when the database returns; only if another process took it
meanwhile does the session stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from inbound import db, metrics, store, supervise
from smpp_bind.link import run_link
from smpp_bind.sender import ReplyOutbox
from smpp_bind.session import Sink
from smpp_bind.settings import LinkSettings

log = structlog.get_logger(__name__)

TAKEOVER_POLL_SECONDS = 2.0
LOCK_NAMESPACE = 0x1175  # first key of pg_try_advisory_lock(int, int): "ours"


def link_lock_key(name: str) -> int:
    """A stable 31-bit key for the link name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


_UNCOMMITTED_PEAKS: dict[str, int] = {}  # link -> iys_inbound_smpp_uncommitted_peak


class PrometheusSessionMetrics:
    """Plugs the SMPP session's hooks into ``inbound.metrics``.

    The labelled children are looked up once and kept: ``labels()`` costs more than the
    increment, and the PDU counters are touched several times per message.
    """

    def __init__(self) -> None:
        self._pdus: dict[tuple[str, str, str, int], Any] = {}
        self._acks: dict[str, Any] = {}
        self._throttled: dict[str, Any] = {}

    def pdu(self, link: str, direction: str, command: str, status: int,
            count: int = 1) -> None:
        key = (link, direction, command, status)
        child = self._pdus.get(key)
        if child is None:
            child = self._pdus[key] = metrics.PDUS.labels(link, direction, command,
                                                          f"0x{status:02X}")
        child.inc(count)

    def committed(self, link: str, size: int, seconds: float) -> None:
        metrics.BATCH_SIZE.labels(link).observe(size)
        metrics.COMMIT_SECONDS.labels(link).observe(seconds)

    def commit_failed(self, link: str) -> None:
        metrics.COMMIT_FAILURES.labels(link).inc()

    def acked(self, link: str, seconds: float) -> None:
        child = self._acks.get(link)
        if child is None:
            child = self._acks[link] = metrics.ACK_SECONDS.labels(link)
        child.observe(seconds)

    def throttled(self, link: str, count: int = 1) -> None:
        child = self._throttled.get(link)
        if child is None:
            child = self._throttled[link] = metrics.THROTTLED.labels(link)
        child.inc(count)

    def uncommitted_peak(self, link: str, waiting: int) -> None:
        # each session's high-water mark starts at 0; the gauge keeps the process's
        if waiting > _UNCOMMITTED_PEAKS.get(link, 0):
            _UNCOMMITTED_PEAKS[link] = waiting
            metrics.UNCOMMITTED_PEAK.labels(link).set(waiting)

    def bound(self, link: str, is_bound: bool) -> None:
        metrics.BIND_STATE.labels(link).set(1 if is_bound else 0)

    def reconnect(self, link: str) -> None:
        metrics.RECONNECTS.labels(link).inc()

    def bind_failed(self, link: str, status: str) -> None:
        metrics.BIND_FAILURES.labels(link, status).inc()


async def own_link(dsn: str, pool: asyncpg.Pool, settings: LinkSettings, sink: Sink,
                   states: dict[str, str],
                   on_change: Callable[[], None] | None = None,
                   outbox: ReplyOutbox | None = None) -> None:
    """Until cancelled: wait to own ``settings.name``, then keep it bound while we own it."""
    key = link_lock_key(settings.name)
    me = process_name()
    link_log = log.bind(link=settings.name)

    async def record(name: str, state: str) -> None:
        states[name] = state
        if on_change is not None:
            on_change()
        with contextlib.suppress(*db.DATABASE_ERRORS):
            await pool.execute(store.SQL.upsert_link_state, name, state, me)

    states[settings.name] = "standby"
    for family in (metrics.RECONNECTS, metrics.COMMIT_FAILURES, metrics.REDELIVERIES,
                   metrics.INCOMPLETE, metrics.THROTTLED, metrics.UNCOMMITTED_PEAK):
        family.labels(settings.name)  # a zero series from the start, not "no data"
    while True:
        # the lock's connection, kept by the one reconnect loop (db.hold_connection); it ends
        # when the lock is not ours: at first (someone else owns the link: stay standby), or
        # when re-taking it after a database interruption (someone took it meanwhile)
        owned = asyncio.Event()
        lock = asyncio.create_task(db.hold_connection(
            dsn, _lock_taker(key, owned, link_log), what=f"link lock {settings.name}",
            ping_every=TAKEOVER_POLL_SECONDS, retry_after=TAKEOVER_POLL_SECONDS),
            name=f"lock {settings.name}")
        won = asyncio.create_task(owned.wait())
        session: asyncio.Task[None] | None = None
        try:
            await asyncio.wait({lock, won}, return_when=asyncio.FIRST_COMPLETED)
            _raise_if_failed(lock)
            if not owned.is_set():
                states[settings.name] = "standby"
                await asyncio.sleep(TAKEOVER_POLL_SECONDS)
                continue
            link_log.info("link owned by this process", owner=me)
            # If the lock's connection breaks, the session keeps running: with the database
            # unreachable nobody else can take the link, and the session answers
            # ESME_RX_T_APPN until the database returns. The lock is then taken again; only
            # if another process holds it by then does the session stop. Between those two
            # moments both processes may be bound; every PDU is still stored once
            # (redeliveries are recognised by content).
            session = asyncio.create_task(
                run_link(settings, sink, metrics=PrometheusSessionMetrics(), on_state=record,
                         outbox=outbox), name=f"session {settings.name}")
            await asyncio.wait({session, lock}, return_when=asyncio.FIRST_COMPLETED)
            if session.done():  # it never ends by itself (it reconnects): a bug
                supervise.reraise(session)
            _raise_if_failed(lock)
        finally:
            for task in (won, lock, session):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in (won, lock, session) if t is not None),
                                 return_exceptions=True)
        link_log.warning("another process owns the link now; session stopped")
        await record(settings.name, "standby")


def _raise_if_failed(lock: asyncio.Task[None]) -> None:
    """The lock's loop ends normally only when another process holds the lock; an error or
    a cancellation from elsewhere is a bug, raised for inbound.supervise to log, count and
    back off (not looped over here at once)."""
    if lock.done() and (lock.cancelled() or lock.exception() is not None):
        supervise.reraise(lock)


def _lock_taker(key: int, owned: asyncio.Event, link_log: Any
                ) -> Callable[[asyncpg.Connection], Awaitable[bool]]:
    """Take the link's lock on a (re)made connection; ``owned`` is set once it is ours."""

    async def take(conn: asyncpg.Connection) -> bool:
        if not await conn.fetchval(store.SQL.try_link_lock, LOCK_NAMESPACE, key):
            return False
        if owned.is_set():
            link_log.info("link ownership re-taken after a database interruption")
        owned.set()
        return True

    return take

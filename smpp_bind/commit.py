"""Group commit: store what a session received in pipelined batches, answer after commit,
and keep the number of PDUs waiting for their commit bounded.

The session (:mod:`smpp_bind.session`) reads and frames; everything between "a deliver_sm
was read" and "its deliver_sm_resp was written" happens here. It knows nothing of
PostgreSQL: every batch goes to a :class:`Sink`, and only when ``sink.accept(link, batch)``
returns are the batch's answers written. If the sink raises (database down), each PDU is
answered ``ESME_RX_T_APPN`` so that the SMSC delivers it again later: nothing is
acknowledged that was not stored, and the link stays up.

Group commit comes from the shape of the loop, not from a timer: PDUs are queued as they
arrive while earlier batches commit, so the next batch is whatever the SMSC sent during the
previous commit (at most ``window``). At low load a batch is one PDU and is acknowledged at
once; at high load the cost of a commit is shared. Up to ``pipeline_depth`` batches are
stored at the same time (the sink orders the ones that depend on each other), and the
answers go out batch by batch in the order the PDUs came.

Memory is bounded by :attr:`GroupCommit.waiting`: the session asks :meth:`has_room` before
queueing, and answers ``ESME_RTHROTTLED`` at once when there is none (docs/DESIGN-NOTES.md,
"Bounded memory: throttle, keep reading").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import structlog

from smpp_bind import pdu
from smpp_bind.settings import LinkSettings

if TYPE_CHECKING:
    from smpp_bind.session import SessionMetrics


@dataclass(slots=True)
class Received:
    """One message-carrying PDU as read from the wire (parsed, or not parseable)."""

    command_id: int
    sequence: int
    raw: bytes
    received_at: datetime
    deliver: pdu.DeliverSm | None       # None when the body could not be parsed
    error: str | None = None            # why it could not be parsed
    monotonic: float = 0.0
    # the session (bind) that read it: an identical PDU on the same session, answered in
    # time, cannot be the SMSC's redelivery (inbound.pipeline, "Redeliveries and repeats")
    session: int = 0


class Sink(Protocol):
    async def accept(self, link: str, batch: list[Received]) -> None:
        """Store the batch durably; return only after commit. Raise to refuse it."""


InFlight = asyncio.Queue[tuple[list[Received], asyncio.Task[int]] | None]


class GroupCommit:
    """One session's queue of received PDUs, its pipelined commits and its ordered answers."""

    # batches stored concurrently (each its own transaction); their answers still go out in
    # order. 1 = one commit at a time. 3 measured best with the pipelined connection (2 on
    # two pool connections): docs/DESIGN-NOTES.md, "pipelined group commit"
    pipeline_depth = 3

    def __init__(self, settings: LinkSettings, sink: Sink, metrics: SessionMetrics,
                 write: Callable[[bytes], None], drain: Callable[[], Awaitable[None]],
                 log: structlog.typing.FilteringBoundLogger) -> None:
        self.settings = settings
        self.sink = sink
        self.metrics = metrics
        self.log = log
        self._write = write
        self._drain = drain
        self._queue: asyncio.Queue[Received | None] = asyncio.Queue()
        self.limit = settings.uncommitted_limit
        self.waiting = 0       # queued or committing, not yet answered
        self.high_water = 0    # the most that ever waited at once (tests, the benchmark)

    # -- the bound -------------------------------------------------------------------------
    def has_room(self) -> bool:
        """Whether one more PDU may wait for its commit."""
        return self.waiting < self.limit

    def put(self, item: Received) -> None:
        """Queue a PDU for the next batch (the session checked :meth:`has_room`, except for
        the last, unframeable bytes of a connection, which are always stored)."""
        self.waiting += 1
        if self.waiting > self.high_water:
            self.high_water = self.waiting
            self.metrics.uncommitted_peak(self.settings.name, self.waiting)
        self._queue.put_nowait(item)

    def end(self) -> None:
        """No more PDUs: :meth:`run` answers what is queued, then returns."""
        self._queue.put_nowait(None)

    # -- the loops -------------------------------------------------------------------------
    async def run(self) -> None:
        """Take what is queued (up to ``window``) as the next batch, even while earlier
        batches are still committing (at most ``pipeline_depth`` in flight), and answer the
        batches strictly in order, each only once its own commit has returned."""
        window = self.settings.window
        slots = asyncio.Semaphore(self.pipeline_depth)
        in_flight: InFlight = asyncio.Queue()
        acker = asyncio.create_task(self._ack_loop(in_flight, slots),
                                    name=f"ack-{self.settings.name}")
        stores: set[asyncio.Task[int]] = set()
        try:
            while True:
                first = await self._queue.get()
                if first is None:
                    break
                await slots.acquire()
                batch = [first]
                ended = False
                while len(batch) < window and not self._queue.empty():
                    item = self._queue.get_nowait()
                    if item is None:
                        ended = True
                        break
                    batch.append(item)
                task = asyncio.create_task(self._store(batch))
                stores.add(task)
                task.add_done_callback(stores.discard)
                in_flight.put_nowait((batch, task))
                if ended:
                    break
            in_flight.put_nowait(None)
            await acker
        finally:
            acker.cancel()
            for task in stores:
                task.cancel()
            await asyncio.gather(acker, *stores, return_exceptions=True)

    async def _ack_loop(self, in_flight: InFlight, slots: asyncio.Semaphore) -> None:
        while True:
            entry = await in_flight.get()
            if entry is None:
                return
            batch, task = entry
            status = await task
            self._answer(batch, status)
            slots.release()
            await self._drain()

    async def _store(self, batch: list[Received]) -> int:
        """Hand the batch to the sink; the status every PDU of it is to be answered with."""
        name = self.settings.name
        started = time.monotonic()
        try:
            await self.sink.accept(name, batch)
            status = pdu.ESME_ROK
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the sink is the database: any failure means "not stored"
            self.log.error("batch not stored; answering ESME_RX_T_APPN", size=len(batch),
                           error=f"{type(exc).__name__}: {exc}")
            self.metrics.commit_failed(name)
            status = pdu.ESME_RX_T_APPN
        self.metrics.committed(name, len(batch), time.monotonic() - started)
        return status

    def _answer(self, batch: list[Received], status: int) -> None:
        """Every response of the batch in one write (one system call, not one per PDU)."""
        name = self.settings.name
        now = time.monotonic()
        out: list[bytes] = []
        counts: dict[tuple[str, int], int] = {}
        for item in batch:
            if item.deliver is None:
                # stored as malformed: tell the SMSC the PDU itself is bad
                nack_status = status if status != pdu.ESME_ROK else pdu.ESME_RINVMSGLEN
                out.append(pdu.generic_nack(item.sequence, nack_status))
                key = ("generic_nack", nack_status)
            elif item.command_id == pdu.DATA_SM:
                out.append(pdu.data_sm_resp(item.sequence, status))
                key = ("data_sm_resp", status)
            else:
                out.append(pdu.deliver_sm_resp(item.sequence, status))
                key = ("deliver_sm_resp", status)
            counts[key] = counts.get(key, 0) + 1
            self.metrics.acked(name, now - item.monotonic)
        self.waiting -= len(batch)
        self._write(b"".join(out))
        for (command, st), n in counts.items():
            self.metrics.pdu(name, "out", command, st, n)


class ThrottleLog:
    """One warning a second at most per link while PDUs are being throttled, with how many
    were since the last one (a flood would otherwise write a line per PDU). One per link,
    shared by its successive sessions."""

    def __init__(self, every: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._last: float | None = None
        self._unlogged = 0

    def throttled(self, log: structlog.typing.FilteringBoundLogger, count: int, waiting: int,
                  limit: int) -> None:
        self._unlogged += count
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            return
        log.warning("SMSC sends faster than we commit; answering ESME_RTHROTTLED",
                    throttled=self._unlogged, waiting=waiting, max_uncommitted=limit)
        self._last = now
        self._unlogged = 0

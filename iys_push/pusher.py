"""The outbox worker: every consent event to İYS at once, in order per key, within the law.

Wakes when this process commits events (``OutboxSignal``) or on ``NOTIFY iys_outbox`` from
another process (when busy, a quarter second after its last round, so that the wake-ups of
many MO commits make one claim) and also polls (a LISTEN connection can die
silently). Claims with ``FOR UPDATE SKIP LOCKED`` and a lease, so several processes share the
work and a crashed worker's events come back when its lease expires. Only the oldest pending
event of a key (brand, recipient, recipientType, type) is ever claimed, so İYS sees a key's
movements in the order they were received; among keys, the nearest deadline goes first.

Before anything is sent it is checked (iys_push.push_core; every 4xx counts against the IP's
success ratio, and İYS drops an IP below 70 %): format, source, dates, the three-business-day
window, İYS's state of the key, and whether it only repeats the event before it. A small
backlog goes out as single v2 adds at once; a large one (a campaign's RET wave) through the
batch endpoint (iys_push.batch_path).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from inbound import db, supervise
from iys_push import metrics, store
from iys_push.batch_path import BATCH_SIZE
from iys_push.client import IysClient, IysSettings
from iys_push.gauges import (
    GAUGE_INTERVAL,
    GAUGE_MAX_PAUSE,
    gauge_pause,
    ratio_pause,
    requeue_failed,
    update_gauges,
    update_success_ratio,
)
from iys_push.import_lane import ImportLane
from iys_push.puller import Puller
from iys_push.retry import DEFAULT_POLICY, RetryPolicy

__all__ = ["BATCH_SIZE", "GAUGE_INTERVAL", "GAUGE_MAX_PAUSE", "IysSettings", "Puller", "Pusher",
           "gauge_pause", "requeue_failed", "update_gauges", "update_success_ratio"]

log = structlog.get_logger(__name__)



def pause_after(handled: int, settings: IysSettings, *, intake: float = 0.0,
                imports: bool = False) -> float:
    """How long a busy pusher waits after a round that handled ``handled`` events.

    At least ``coalesce`` after a partial round: the wake-ups of the MO commits of a moment
    then make one claim, not a round of queries per MO batch. And never faster than
    ``max_events_per_second`` on average: every pushed event costs PostgreSQL two row
    versions of ``consent_event`` (three on the batch path) and their WAL, on the database
    and cores the MO path needs to acknowledge within milliseconds, while İYS gives a RET
    three business days. A full round (``BATCH_SIZE``: more is waiting) needs no coalescing,
    only the pace.

    While the MO intake of this process (``intake``, MOs stored a second) is above
    ``yield_to_intake_above``, the pace is ``yield_events_per_second``: at window 50 the push side's
    rounds took 20-35 % of the MOs acknowledged a second (docs/DESIGN-NOTES.md). The
    backlog is drained at the full pace once the wave is over.
    """
    rate = settings.max_events_per_second
    if imports:
        # a round of the import lane sent one list: the request budget is its pace (a list
        # a request), so that an import fills what live traffic leaves of it
        rate = max(rate, settings.requests_per_second * BATCH_SIZE)
    if yields_to(intake, settings):
        rate = min(rate, settings.yield_events_per_second)
    pace = handled / rate
    return pace if handled >= BATCH_SIZE else max(settings.coalesce, pace)


def yields_to(intake: float, settings: IysSettings) -> bool:
    """Whether the push side keeps its slower pace at this MO intake (MOs stored a second)."""
    return 0 < settings.yield_to_intake_above < intake


# -- the worker --------------------------------------------------------------------------------
class OutboxSignal:
    """What the MO path calls once a batch with consent events has committed.

    The pusher of this process is woken at once (``local``); those of other processes on the
    same database by ``NOTIFY iys_outbox``, sent outside the MO transactions, at most once
    every ``interval`` seconds (they also poll). Not a NOTIFY inside each MO transaction:
    PostgreSQL serialises the commits of all transactions that NOTIFY (a database-wide lock
    held until the commit is on disk), which made the pipelined batches commit one fsync at a
    time.
    """

    def __init__(self, pool: asyncpg.Pool, local: Callable[[], None] | None = None,
                 interval: float = 0.2,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.pool = pool
        self.local = local
        self.interval = interval
        self._sleep = sleep  # a test holds the interval open
        self._pending = asyncio.Event()

    def __call__(self) -> None:
        if self.local is not None:
            self.local()
        self._pending.set()

    async def run(self) -> None:
        """Until cancelled: the NOTIFYs for the other processes."""
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await self.pool.execute(store.SQL.notify_outbox)
            except Exception as exc:  # the other pushers poll: late, not lost
                log.warning("pusher: could not notify other processes", error=str(exc))
            await self._sleep(self.interval)


class Pusher(ImportLane):
    def __init__(self, pool: asyncpg.Pool, dsn: str, settings: IysSettings, *,
                 worker_id: str, client: IysClient | None = None,
                 policy: RetryPolicy = DEFAULT_POLICY,
                 intake: Callable[[], float] = lambda: 0.0) -> None:
        self.pool = pool
        self.dsn = dsn
        self.settings = settings
        self.worker_id = worker_id
        self.client = client or IysClient(pool, settings)
        self.policy = policy
        self.intake = intake                # this process's MOs stored a second, now
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Start a round now (events were committed in this process)."""
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled; errors of a round are logged and waited out, never fatal. If a
        helper ends (the LISTEN, the gauges, the import pump), so does ``run``, with what
        ended it: a pusher that no longer hears NOTIFYs must not go on silently."""
        try:
            await supervise.together({
                "pusher-rounds": self._rounds(), "pusher-listen": self._listen(),
                "pusher-gauges": self._gauges(),
                "pusher-imports": self.import_pump(self._wake.set)})
        finally:
            await self.client.close()

    async def _rounds(self) -> None:
        failures = 0
        while True:
            # cleared before the round, not after it: a NOTIFY during an empty round
            # must still end the idle wait below at once
            self._wake.clear()
            try:
                done = await self.drain_once()
                failures = 0
            except Exception:
                failures += 1
                log.exception("pusher: drain failed; retrying", failures=failures)
                await asyncio.sleep(min(30.0, self.policy.delay(failures)))
                continue
            if done:
                await self._pause(done)
                continue
            # idle: the first NOTIFY is served at once
            metrics.PUSH_YIELDING.set(0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)

    async def _pause(self, done: int) -> None:
        """``pause_after`` a round, the intake looked at again every ``coalesce`` seconds:
        a pause taken at the yielding pace ends early when the MO wave does."""
        started = time.monotonic()
        while True:
            intake = self.intake()
            metrics.PUSH_YIELDING.set(yields_to(intake, self.settings))
            left = pause_after(done, self.settings, intake=intake,
                               imports=self.import_round_last) - (time.monotonic() - started)
            if left <= 0:
                return
            await asyncio.sleep(min(left, self.settings.coalesce))

    async def _listen(self) -> None:
        def connected() -> None:
            metrics.LISTEN_HEALTHY.set(1)
            self._wake.set()  # anything that arrived while we were not listening

        await db.listen_forever(self.dsn, "iys_outbox", self._wake.set, on_connected=connected,
                                on_lost=lambda: metrics.LISTEN_HEALTHY.set(0))

    async def _gauges(self) -> None:
        ratio_due = 0.0
        while True:
            started = time.monotonic()
            try:
                await update_gauges(self.pool)
            except Exception as exc:  # the database is away: the gauges wait for it
                log.warning("pusher: outbox gauges not updated", error=type(exc).__name__)
            pause = gauge_pause(time.monotonic() - started)
            if time.monotonic() >= ratio_due:
                begun = time.monotonic()
                try:
                    await update_success_ratio(self.pool, self.settings.egress_label)
                except Exception as exc:
                    log.warning("pusher: success ratio not updated", error=type(exc).__name__)
                ratio_due = time.monotonic() + ratio_pause(time.monotonic() - begun)
            await asyncio.sleep(pause)

    async def drain_once(self) -> int:
        """Poll due batch results, then push what is due now; returns how many events were
        handled (sent, settled or rescheduled)."""
        self.import_round_last = False
        handled = await self._poll_batches()
        await self._promote_blockers()
        above = self.settings.batch_above
        if await store.due_count(self.pool, above + 1) > above:
            self.live_round(idle=False)
            return handled + await self._submit_batch()
        claim = max(1, int(self.settings.requests_per_second * 2))
        events = await store.claim(self.pool, claim, self.worker_id,
                                   self.settings.lease_seconds)
        self.live_round(idle=not events)   # before sending: the import lane waits for it
        results = await asyncio.gather(*(self._push_one(e) for e in events),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):  # its lease expires and it is taken again
                log.error("pusher: could not settle an event", error=repr(result))
        if not events:
            # live traffic had nothing due: bulk imports take what it left (DESIGN.md's
            # budget order), one list a round (iys_push.import_lane), or the lane's pipeline
            if self.pumping:
                self.import_round_last = True   # the polls of its lists: the request pace
                return handled
            return handled + await self._import_round()
        return handled + len(events)

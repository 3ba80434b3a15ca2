"""The pusher's import lane (issue #31): bulk-import events at İYS's pace, after live traffic.

An import's events wait parked (``batch_request_id = 'import:<id>'``, migrations/0026): the
live claim never takes them, yet a live event of the same key waits behind one, since a
key's movements go to İYS in consent-date order. The lane runs only in a round in which
live traffic had nothing due (``Pusher.drain_once``), sends one list of at most 1,000 events
(one per key: only the head of each key is claimed) through the batch endpoint, and takes
its turn among owners round-robin: one owner's million rows cannot starve another's
hundred. The request it sends is the only one a live event can wait for (DESIGN.md: no
lower class may delay a higher one by more than one request).

A live event that waits behind a parked import event promotes it to the live queue
(``promote_blockers``): an SMS RET during a million-row import still goes within seconds,
right after the import row of its key.

In the service (``Pusher.run``) the lane is a pipeline of its own (``import_pump``), beside
the live rounds: İYS's batch endpoint is asynchronous (IYS_API.md §2.2, §2.3), so the next
list is claimed and checked while the one before is being sent, and lists in flight are
polled by the lane's own tasks when their results are due. Its requests wait at low
priority in the rate limit (``ratelimit.LOW_PRIORITY``) and start only while the last live
round found nothing to send: a live event waits for at most one import request.
``drain_once`` alone (tests, one-shot use) keeps the step-by-step round.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from inbound import sqlfile
from iys_push import store
from iys_push.batch_path import BATCH_SIZE, BatchPath
from iys_push.events import ClaimedEvent
from iys_push.ratelimit import LOW_PRIORITY

if TYPE_CHECKING:
    from collections.abc import Callable

log = structlog.get_logger(__name__)
SQL = sqlfile.load("iys_push", "sql/imports.sql")

PROMOTE_SCAN = 5000        # live events looked at for an import event ahead of them
# a storing import beats every 50,000 rows (inbound.imports.store): one silent this long died
STALE_SECONDS = 120.0
PIPELINE_LISTS = 4        # lists being claimed and checked while one is sent
POLLERS = 4               # lists in flight whose results are being fetched and settled


class ImportLane(BatchPath):
    _last_owner: int | None = None
    import_round_last: bool = False  # the last round sent a list of the import lane
    pumping: bool = False            # import_pump runs: drain_once leaves imports to it
    _live_idle: asyncio.Event        # set while the last live round had nothing to send
    _import_wake: asyncio.Event      # a live round ran: an import may have been stored

    def _lane_events(self) -> None:
        if not hasattr(self, "_live_idle"):
            self._live_idle = asyncio.Event()
            self._import_wake = asyncio.Event()

    def live_round(self, *, idle: bool) -> None:
        """What the last live round found (``Pusher.drain_once``): the lane sends only
        while live traffic has nothing to send."""
        self._lane_events()
        if idle:
            self._live_idle.set()
            self._import_wake.set()
        else:
            self._live_idle.clear()

    async def import_pump(self, wake_rounds: Callable[[], None]) -> None:
        """Until cancelled: the import lane as a pipeline. ``PIPELINE_LISTS`` tasks claim,
        check and submit lists (claims one after the other, so owners take turns), and
        ``POLLERS`` tasks poll the lists whose results are due; every request they send is
        of low priority (``ratelimit.LOW_PRIORITY``), and none starts while live traffic has
        something to send. ``wake_rounds`` starts a live round (which polls too)."""
        self._lane_events()
        self._live_idle.clear()  # a pump started again waits for a live round to look first
        self.pumping = True
        claim_turn = asyncio.Lock()
        loop = asyncio.get_running_loop()

        async def lists() -> None:
            LOW_PRIORITY.set(True)      # this task's context only
            while True:
                await self._live_idle.wait()
                try:
                    async with claim_turn:
                        self._import_wake.clear()
                        events = await self._claim_import_list()
                    if not events:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._import_wake.wait(),
                                                   self.settings.poll_interval)
                        continue
                    await self._live_idle.wait()   # live traffic came meanwhile: it goes first
                    await self._send_claimed(events)
                    loop.call_later(self.settings.batch_poll_delay, wake_rounds)
                except Exception:   # the events' leases expire and they are taken again
                    log.exception("import lane: a list failed; going on")
                    await asyncio.sleep(self.settings.poll_interval)

        async def polls() -> None:
            LOW_PRIORITY.set(True)
            while True:
                await self._live_idle.wait()
                try:
                    due = await self.pool.fetch(store.SQL.claim_batches, self.worker_id,
                                                self.settings.lease_seconds, 1)
                    if not due:
                        await asyncio.sleep(min(self.settings.poll_interval,
                                                self.settings.batch_poll_delay / 4))
                        continue
                    await self._poll_batch(due[0])
                except Exception:   # the batch's lease expires and it is polled again
                    log.exception("import lane: a poll failed; going on")
                    await asyncio.sleep(self.settings.poll_interval)

        try:
            await asyncio.gather(*(lists() for _ in range(PIPELINE_LISTS)),
                                 *(polls() for _ in range(POLLERS)))
        finally:
            self.pumping = False

    async def _import_round(self) -> int:
        handled = await self._import_list()
        self.import_round_last = handled > 0
        return handled

    async def _promote_blockers(self) -> int:
        """Move the parked import events that a live event waits behind to the live queue
        (only while an import is being pushed: one index probe a round otherwise)."""
        if not await self.pool.fetchval(SQL.any_active_import):
            return 0
        promoted = await self.pool.fetch(SQL.promote_blockers, PROMOTE_SCAN)
        if promoted:
            log.info("import events promoted ahead of a live event of their key",
                     events=len(promoted))
        return len(promoted)

    async def _import_list(self) -> int:
        """One list of import events (or none); returns how many events were handled."""
        events = await self._claim_import_list()
        return await self._send_claimed(events) if events else 0

    async def _claim_import_list(self) -> list[ClaimedEvent]:
        """The next list of import events (owners in turn), claimed; [] when none is due."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(SQL.claim_import_plan)   # finish_imports: a probe an import
            await conn.execute(SQL.fail_stale, STALE_SECONDS)
            finished = await conn.fetch(SQL.finish_imports)
        for row in finished:
            log.info("import finished", import_id=row["id"])
        active = await self.pool.fetch(SQL.active_imports)
        if not active:
            return []
        owners: dict[int, list[int]] = {}
        for row in active:
            owners.setdefault(row["owner"], []).append(row["id"])
        order = sorted(owners)
        # the owner after the one served last, then the others in turn
        start = next((i for i, o in enumerate(order)
                      if self._last_owner is None or o > self._last_owner), 0)
        for owner in order[start:] + order[:start]:
            for import_id in owners[owner]:
                async with self.pool.acquire() as conn, conn.transaction():
                    await conn.execute(SQL.claim_import_plan)
                    events = [ClaimedEvent.of(r) for r in await conn.fetch(
                        SQL.claim_import, str(import_id), BATCH_SIZE, self.worker_id,
                        self.settings.lease_seconds)]
                if events:
                    self._last_owner = owner
                    return events
        return []

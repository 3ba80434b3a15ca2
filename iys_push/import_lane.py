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
"""

from __future__ import annotations

import structlog

from inbound import sqlfile
from iys_push.batch_path import BATCH_SIZE, BatchPath
from iys_push.events import ClaimedEvent

log = structlog.get_logger(__name__)
SQL = sqlfile.load("iys_push", "sql/imports.sql")

PROMOTE_SCAN = 5000        # live events looked at for an import event ahead of them
# a storing import beats every 50,000 rows (inbound.imports.store): one silent this long died
STALE_SECONDS = 120.0


class ImportLane(BatchPath):
    _last_owner: int | None = None
    import_round_last: bool = False  # the last round sent a list of the import lane

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
        await self.pool.execute(SQL.fail_stale, STALE_SECONDS)
        finished = await self.pool.fetch(SQL.finish_imports)
        for row in finished:
            log.info("import finished", import_id=row["id"])
        active = await self.pool.fetch(SQL.active_imports)
        if not active:
            return 0
        owners: dict[int, list[int]] = {}
        for row in active:
            owners.setdefault(row["owner"], []).append(row["id"])
        order = sorted(owners)
        # the owner after the one served last, then the others in turn
        start = next((i for i, o in enumerate(order)
                      if self._last_owner is None or o > self._last_owner), 0)
        for owner in order[start:] + order[:start]:
            for import_id in owners[owner]:
                events = [ClaimedEvent.of(r) for r in await self.pool.fetch(
                    SQL.claim_import, str(import_id), BATCH_SIZE, self.worker_id,
                    self.settings.lease_seconds)]
                if events:
                    self._last_owner = owner
                    return await self._send_claimed(events)
        return 0

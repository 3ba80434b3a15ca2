"""The batch path: a large backlog (a campaign's RET wave) through the batch endpoint, at
most 1000 items and one per key per list, results polled after ``batch_poll_delay``; items
whose results never come go back to the single path."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from iys_push import store
from iys_push.client import Answer
from iys_push.events import ClaimedEvent
from iys_push.push_core import Event, PushCore, breathe
from iys_push.retry import (
    NO_ONAY,
    SUPERSEDED,
    Verdict,
    View,
    before_sending,
    classify,
    consent_body,
    must_ask,
    plan_consent_date,
    trouble,
    waiting,
    with_onay,
)

log = structlog.get_logger(__name__)

BATCH_SIZE = 1000                       # İYS: at most 1000 items a list (H091)
BATCH_GIVE_UP = timedelta(hours=1)      # at least; results still missing → single path


class BatchPath(PushCore):
    worker_id: str

    # -- the batch path ------------------------------------------------------------------------
    def _batch_give_up(self) -> timedelta:
        """How long a batch's missing results are waited for before its items go singly."""
        return max(BATCH_GIVE_UP, timedelta(seconds=12 * self.settings.batch_poll_delay))

    async def _submit_batch(self) -> int:
        events = await store.claim(self.pool, BATCH_SIZE, self.worker_id,
                                   self.settings.lease_seconds)
        return await self._send_claimed(events)

    async def _send_claimed(self, events: list[Event]) -> int:
        """Check claimed events, send the ones due through the batch endpoint (one list per
        brand), settle the others; the live batch path and the import lane share it."""
        now = datetime.now(UTC)
        settled: list[tuple[Event, Verdict, datetime | None]] = []
        ready: list[Event] = []
        for i, e in enumerate(events):
            await breathe(i)
            verdict = before_sending(e, now)
            if verdict is not None:
                settled.append((e, verdict, None))
            else:
                ready.append(e)
        try:
            onay = await self._ask_onay([e for e in ready if must_ask(e, View.of(e))])
        except Exception as exc:
            await self._settle(settled + [(e, trouble(exc), None) for e in ready])
            return len(events)
        groups: dict[tuple[int, int], list[tuple[Event, datetime]]] = defaultdict(list)
        for e in ready:
            view = View.of(e)
            if e.id in onay:
                if not onay[e.id]:
                    settled.append((e, NO_ONAY, None))
                    continue
                view = with_onay(view)
            date = plan_consent_date(e.received_at, view)
            if date is None:
                settled.append((e, SUPERSEDED, None))
            elif date > now:
                settled.append((e, waiting(date), date))
            else:
                groups[(e.iys_code, e.brand_code)].append((e, date))
        # a batch that İYS leaves unanswered is given up only after _batch_give_up(): an event
        # whose deadline comes sooner (plus an hour to spare) goes as a single add instead
        urgent_before = now + self._batch_give_up() + timedelta(hours=1)
        urgent = [e for items in groups.values() for e, _ in items
                  if e.deadline_at < urgent_before]
        for (iys_code, brand_code), items in groups.items():
            items = [(e, d) for e, d in items if e.deadline_at >= urgent_before]
            if items:
                settled += await self._send_batch(iys_code, brand_code, items)
        await self._settle(settled)
        await asyncio.gather(*(self._push_one(e) for e in urgent))
        return len(events)

    async def _send_batch(self, iys_code: int, brand_code: int,
                          items: list[tuple[Event, datetime]]
                          ) -> list[tuple[Event, Verdict, datetime | None]]:
        """Submit one list; returns the verdicts of the items that are not now in flight."""
        try:
            answer = await self.client.add_batch(iys_code, brand_code,
                                                 [consent_body(e, d) for e, d in items])
        except Exception as exc:
            return [(e, trouble(exc), d) for e, d in items]
        body = answer.body
        if answer.status == 202 and isinstance(body, dict) and body.get("requestId"):
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(store.SQL.mark_batched, str(body["requestId"]),
                                   [e.id for e, _ in items], list(range(len(items))),
                                   [d for _, d in items])
                await conn.execute(store.SQL.insert_iys_batch, str(body["requestId"]), iys_code,
                                   brand_code, len(items), self.settings.batch_poll_delay)
            return []
        errors = body.get("errors") if isinstance(body, dict) else None
        if answer.status == 422 and isinstance(errors, list):
            # field errors name their item's index: those fail, the others go again
            by_index = {x.get("index"): x for x in errors if isinstance(x, dict)}
            out: list[tuple[Event, Verdict, datetime | None]] = []
            for index, (e, d) in enumerate(items):
                err = by_index.get(index)
                out.append((e, Verdict("failed", err.get("code"), err.get("message"))
                            if err else Verdict("retry", "BATCH_422", "another item was refused"),
                            d))
            return out
        verdict = classify(answer, "")
        if verdict.state in ("not_needed", "superseded"):  # not answers a list gets
            verdict = Verdict("retry", verdict.code, verdict.message)
        return [(e, verdict, d) for e, d in items]

    async def _poll_batches(self) -> int:
        lease = self.settings.lease_seconds
        handled = 0
        for batch in await self.pool.fetch(store.SQL.claim_batches, self.worker_id, lease, 10):
            handled += await self._poll_batch(batch)
        return handled

    async def _poll_batch(self, batch: Mapping[str, Any]) -> int:
        request_id = batch["request_id"]
        try:
            answer = await self.client.batch_result(batch["iys_code"], batch["brand_code"],
                                                    request_id)
        except Exception as exc:
            answer = Answer(None, None, None, str(exc))
        events = [ClaimedEvent.of(r) for r in
                  await self.pool.fetch(store.SQL.batch_events, request_id)]
        if not events:
            await self.pool.execute(store.SQL.done_batch, request_id)
            return 0
        if not answer.ok or not isinstance(answer.body, list):
            if answer.status == 422:  # İYS does not know this requestId: send again
                await self._release(request_id)
            else:
                await self.pool.execute(store.SQL.repoll_batch, request_id,
                                        self.policy.delay(batch["polls"]))
            return 0
        by_index = {r.get("index"): r for r in answer.body if isinstance(r, dict)}
        settled: list[tuple[Event, Verdict, datetime | None]] = []
        for e in events:
            result = by_index.get(e.batch_index)
            if result is None or result.get("status") not in ("success", "failure"):
                continue  # enqueue (or not listed yet): asked again later
            if result["status"] == "success":
                verdict = Verdict("accepted", transaction_id=result.get("transactionId"),
                                  creation_date=result.get("creationDate"))
            else:
                error = result.get("error") or {}
                verdict = classify(Answer(400, {"errors": [error]}, error.get("code"),
                                          str(error.get("message", ""))), e.status)
            settled.append((e, verdict, e.consent_date))
        await self._settle(settled)
        if len(settled) == len(events):
            await self.pool.execute(store.SQL.done_batch, request_id)
        elif datetime.now(UTC) - batch["submitted_at"] > self._batch_give_up():
            log.warning("İYS batch results did not come; its items go again one by one",
                        request_id=request_id, waiting=len(events) - len(settled))
            await self._release(request_id)
        else:
            await self.pool.execute(store.SQL.repoll_batch, request_id,
                                    max(1.0, self.settings.batch_poll_delay / 5))
        return len(settled)

    async def _release(self, request_id: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(store.SQL.release_batch_events, request_id)
            await conn.execute(store.SQL.done_batch, request_id)

"""The batch path for large backlogs (a campaign's RET wave): ≤ 1000 consents a request.

İYS takes a list asynchronously (202 + requestId) and its results may be polled only after
about 300 s; items are ``enqueue`` until then. The claim already gives at most one event per
key, which is also İYS's rule for a list (H194).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from iys_push import store
from iys_push.client import Answer, IysClient, IysSettings
from iys_push.decide import (
    Verdict,
    classify_answer,
    consent_body,
    local_verdict,
    ordered_consent_date,
    prefetch_states,
)

log = structlog.get_logger(__name__)

BATCH_SIZE = 1000
Finish = Callable[[Any, Verdict], Awaitable[None]]


class BatchPusher:
    def __init__(self, pool: asyncpg.Pool, settings: IysSettings, client: IysClient,
                 finish: Finish) -> None:
        self.pool = pool
        self.settings = settings
        self.client = client
        self.finish = finish

    async def submit(self, worker_id: str) -> int:
        lease = self.settings.batch_poll_delay + self.settings.lease_seconds
        events = await self.pool.fetch(store.CLAIM, BATCH_SIZE, worker_id, lease)
        await prefetch_states(self.pool, self.client, events)
        groups: dict[tuple[int, int], list[tuple[Any, dict[str, Any]]]] = defaultdict(list)
        for event in sorted(events, key=lambda e: e["id"]):
            verdict = await local_verdict(self.pool, self.client, event)
            if verdict is not None:
                await self.finish(event, verdict)
                continue
            consent_date = await ordered_consent_date(self.pool, event)
            if consent_date > datetime.now(UTC):  # wait for that second (H162: no future)
                await self.finish(event, Verdict("retry", "per-key order"))
                continue
            body = consent_body(event, consent_date)
            groups[(event["iys_code"], event["brand_code"])].append((event, body))
        for (iys_code, brand_code), items in groups.items():
            answer = await self.client.call(
                "POST", f"/v2/sps/{iys_code}/brands/{brand_code}/consents/request",
                [body for _, body in items], endpoint="batch")
            await self._submitted(items, answer)
        return len(events)

    async def _submitted(self, items: list[tuple[Any, dict[str, Any]]], answer: Answer) -> None:
        if answer.status == 202 and isinstance(answer.body, dict):
            when = datetime.now(UTC) + timedelta(seconds=self.settings.batch_poll_delay)
            await self.pool.execute(store.MARK_BATCHED, [e["id"] for e, _ in items],
                                    answer.body["requestId"], when)
            return
        if answer.status == 422 and isinstance(answer.body, dict):
            # field errors carry the index of the item: those fail, the others go again
            failed = {e.get("index"): e for e in answer.body.get("errors", [])}
            for index, (event, _) in enumerate(items):
                error = failed.get(index)
                if error is not None:
                    await self.finish(event, Verdict("failed", "rejected", error.get("code"),
                                                     error.get("message")))
                else:
                    await self.finish(event, Verdict("retry", "batch rejected", answer=answer))
            return
        verdict = classify_answer(answer)
        for event, _ in items:
            await self.finish(event, verdict if verdict.state == "retry"
                              else Verdict("retry", "batch refused", answer=answer))

    async def poll_results(self) -> int:
        handled = 0
        for batch in await self.pool.fetch(store.BATCHED_DUE):
            request_id = batch["batch_request_id"]
            events = await self.pool.fetch(store.BATCH_EVENTS, request_id)
            answer = await self.client.call(
                "GET", f"/v2/sps/{batch['iys_code']}/brands/{batch['brand_code']}"
                f"/consents/request/{request_id}", endpoint="batch_result")
            results = answer.body if answer.ok and isinstance(answer.body, list) else []
            by_index = {r.get("index"): r for r in results if isinstance(r, dict)}
            later = datetime.now(UTC) + timedelta(seconds=self.settings.batch_poll_delay / 4)
            for index, event in enumerate(events):
                result = by_index.get(index)
                if result is None or result.get("status") == "enqueue":
                    await self.pool.execute(store.MARK_BATCHED, [event["id"]], request_id, later)
                    continue
                handled += 1
                if result.get("status") == "success":
                    await self._accepted(event, result)
                else:
                    error = result.get("error") or {}
                    verdict = classify_answer(Answer(400, {"errors": [error]}, error.get("code"),
                                                     error.get("message", "")))
                    await self.finish(event, verdict)
        return handled

    async def _accepted(self, event: Any, result: dict[str, Any]) -> None:
        await self.pool.execute(store.UPSERT_KEY_STATE, event["brand_code"], event["recipient"],
                                event["recipient_type"], event["type"], event["status"],
                                event["consent_date"], "HS_MESAJ", "push")
        await self.finish(event, Verdict("accepted", "", None, None, result.get("transactionId"),
                                         result.get("creationDate")))

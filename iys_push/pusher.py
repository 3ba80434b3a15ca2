"""The outbox worker: every consent event to İYS at once, in order per key, within the law.

Wakes on ``NOTIFY iys_outbox`` and also polls (a LISTEN connection can die silently).
Claims with ``FOR UPDATE SKIP LOCKED`` and a lease, so several processes share the work and a
crashed worker's events come back when the lease expires. Only the oldest pending event of
a key (brand, recipient, recipientType, type) is ever claimed, so İYS sees a key's movements
in the order they were received, with strictly increasing consent dates.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from iys_push import metrics, store
from iys_push.batch import BatchPusher
from iys_push.client import Answer, IysClient, IysSettings, TokenHalted
from iys_push.decide import (
    Verdict,
    classify_answer,
    consent_body,
    local_verdict,
    ordered_consent_date,
)
from iys_push.puller import Puller

__all__ = ["IysSettings", "Puller", "Pusher", "requeue_failed"]

log = structlog.get_logger(__name__)

CLAIM_SIZE = 20
BACKOFF_CAP = 300.0


def backoff(attempts: int, rng: random.Random = random.Random()) -> float:
    """Exponential with full jitter: up to 2, 4, 8 … seconds, capped at five minutes."""
    return rng.uniform(0.5, min(BACKOFF_CAP, 2.0 ** max(1, attempts)))


class Pusher:
    def __init__(self, pool: asyncpg.Pool, dsn: str, settings: IysSettings, *,
                 worker_id: str, client: IysClient | None = None) -> None:
        self.pool = pool
        self.dsn = dsn
        self.settings = settings
        self.worker_id = worker_id
        self.client = client or IysClient(pool, settings)
        self.batch = BatchPusher(pool, settings, self.client, self._finish)
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        gauges = asyncio.create_task(self._gauges())
        try:
            while True:
                try:
                    done = await self.drain_once()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("pusher: database error; retrying", error=str(exc))
                    done = 0
                if done:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)
        finally:
            listener.cancel()
            gauges.cancel()
            await asyncio.gather(listener, gauges, return_exceptions=True)
            await self.client.close()

    async def _listen(self) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener("iys_outbox", lambda *_: self._wake.set())
                metrics.LISTEN_HEALTHY.set(1)
                while not conn.is_closed():
                    await asyncio.sleep(5)
                    await conn.fetchval("SELECT 1")  # proves the connection still answers
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass
            finally:
                metrics.LISTEN_HEALTHY.set(0)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(1)

    async def _gauges(self) -> None:
        while True:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await update_gauges(self.pool)
            await asyncio.sleep(5)

    async def drain_once(self) -> int:
        """Push what is due now; returns how many events were handled."""
        handled = await self.batch.poll_results()
        due = await self.pool.fetchval(store.DUE_COUNT)
        if due > self.settings.batch_threshold:
            return handled + await self.batch.submit(self.worker_id)
        events = await self.pool.fetch(store.CLAIM, CLAIM_SIZE, self.worker_id,
                                       self.settings.lease_seconds)
        await asyncio.gather(*(self._push(e) for e in events))
        return handled + len(events)

    async def _push(self, event: asyncpg.Record) -> None:
        try:
            verdict = await local_verdict(self.pool, self.client, event)
            if verdict is None:
                consent_date = await ordered_consent_date(self.pool, event)
                if consent_date > datetime.now(UTC):
                    # moved one second past the key's previous movement: İYS refuses future
                    # dates (H162), so send it once that second has come
                    await self.pool.execute(store.RETRY, event["id"],
                                            consent_date + timedelta(milliseconds=50), None,
                                            "waiting for the next second (per-key order)")
                    return
                answer = await self.client.call(
                    "POST", f"/v2/sps/{event['iys_code']}/brands/{event['brand_code']}/consents",
                    consent_body(event, consent_date), event_id=event["id"])
                verdict = classify_answer(answer)
                if verdict.state == "accepted":
                    await self._remember(event, consent_date, "push")
            await self._finish(event, verdict)
        except TokenHalted as exc:
            await self.pool.execute(store.RETRY, event["id"], exc.until, "H084", str(exc))
        except (OSError, ConnectionError, TimeoutError) as exc:
            await self._retry(event, Answer(None, None, None, str(exc)), "error")

    async def _remember(self, event: Any, consent_date: datetime | None, origin: str) -> None:
        await self.pool.execute(store.UPSERT_KEY_STATE, event["brand_code"], event["recipient"],
                                event["recipient_type"], event["type"], event["status"],
                                consent_date, "HS_MESAJ", origin)

    async def _finish(self, event: Any, verdict: Verdict) -> None:
        if verdict.state == "retry":
            await self._retry(event, verdict.answer, verdict.reason)
            return
        await self.pool.execute(store.FINISH, event["id"], verdict.state,
                                verdict.transaction_id, verdict.creation_date, verdict.code,
                                verdict.message)
        metrics.EVENTS_FINISHED.labels(event["brand_id"],
                                       event["status"], verdict.state).inc()
        if verdict.state == "accepted":
            metrics.PUSH_LATENCY.observe(
                (datetime.now(UTC) - event["received_at"]).total_seconds())
        elif verdict.state == "failed":
            metrics.BUSINESS_FAILURES.labels(event["brand_id"],
                                             verdict.code or "").inc()
            log.error("consent event failed; a person must look at it", event_id=event["id"],
                      code=verdict.code, reason=verdict.message)
        if verdict.state == "not_needed" and verdict.known_status:
            await self.pool.execute(store.UPSERT_KEY_STATE, event["brand_code"],
                                    event["recipient"], event["recipient_type"], event["type"],
                                    verdict.known_status, None, None, "push")

    async def _retry(self, event: Any, answer: Answer | None, reason: str) -> None:
        delay = backoff(event["attempts"])
        when = datetime.now(UTC) + timedelta(seconds=delay)
        code = answer.code if answer else None
        message = (answer.message if answer else "") or reason
        metrics.RETRIES.labels(reason).inc()
        await self.pool.execute(store.RETRY, event["id"], when, code, message[:500])


async def update_gauges(pool: asyncpg.Pool) -> None:
    row = await pool.fetchrow(store.COMPLIANCE)
    metrics.BACKLOG.set(row["backlog"])
    metrics.BACKLOG_AGE.set(row["oldest_age"] or 0)
    metrics.NEAREST_DEADLINE.set(row["nearest_ret_deadline"]
                                 if row["nearest_ret_deadline"] is not None else 1e9)
    metrics.PAST_HALF.set(row["past_half"])
    metrics.PAST_NINETY.set(row["past_ninety"])
    metrics.OVERDUE.set(row["overdue"])
    metrics.FAILED.set(await pool.fetchval(store.FAILED_COUNT))


async def requeue_failed(pool: asyncpg.Pool, *, event_ids: list[int] | None = None,
                         brand_id: str | None = None) -> int:
    result = await pool.execute(store.REQUEUE_FAILED, event_ids, brand_id)
    await pool.execute("SELECT pg_notify('iys_outbox', '')")
    return int(result.split()[-1])

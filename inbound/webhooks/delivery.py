"""Sending the outbox: sequence, fan out, claim (SKIP LOCKED), sign, post, record.

Any process may run a ``Deliverer``; a claim is a lease (``lease_seconds``), so a process
killed mid-delivery loses nothing: its claims come due again and are sent with the same
webhook-id (the receiver may dedupe on it). 2xx is delivered; anything else (another
status, a redirect — never followed —, a timeout, a refused address) is retried with
exponential backoff and jitter for three days from the first attempt, then ``failed``
(kept, replayable). An endpoint whose every attempt failed for ``pause_after`` is paused
(its deliveries kept) until its owner resumes it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import structlog
from prometheus_client import Counter, Gauge, Histogram

from inbound.db import DATABASE_ERRORS
from inbound.webhooks import SQL, message_id, payloads, signature_header
from inbound.webhooks.safety import AddressPolicy, CheckingResolver, RefusedTarget, check_url

log = structlog.get_logger(__name__)

ATTEMPTS = Counter("iys_inbound_webhook_attempts_total",
                   "Webhook delivery attempts by outcome (delivered, http_error, timeout, "
                   "refused, error)", ["outcome"])
GAVE_UP = Counter("iys_inbound_webhook_gave_up_total",
                  "Webhook deliveries that failed for three days and were given up (kept, "
                  "replayable)")
PAUSED = Gauge("iys_inbound_webhook_paused_endpoints",
               "Endpoints paused because every delivery failed for a day")
BACKLOG = Gauge("iys_inbound_webhook_backlog", "Webhook deliveries waiting (retries and "
                "paused endpoints' included)")
BACKLOG_AGE = Gauge("iys_inbound_webhook_backlog_age_seconds", "Age of the oldest event "
                    "whose delivery still waits")
PAUSES = Counter("iys_inbound_webhook_pauses_total", "Endpoints paused (every delivery failed "
                 "for a day)")
LATENCY = Histogram("iys_inbound_webhook_latency_seconds", "Time of one delivery attempt",
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WebhookSettings:
    """The [webhooks] table (one default source: these)."""

    enabled: bool = True
    allow_private: bool = False
    allow_loopback: bool | None = None   # None: allowed only in the zero-config default
    timeout: float = 10.0
    lease_seconds: float = 60.0          # > timeout: a claim outlives its attempt
    retry_for: timedelta = timedelta(days=3)
    pause_after: timedelta = timedelta(days=1)
    first_retry: float = 5.0             # seconds; doubled each attempt, with jitter
    max_retry: float = 6 * 3600.0
    poll_interval: float = 1.0
    batch: int = 50

    def policy(self, zero_config: bool) -> AddressPolicy:
        loopback = zero_config if self.allow_loopback is None else self.allow_loopback
        return AddressPolicy(allow_private=self.allow_private, allow_loopback=loopback)


def backoff(attempts: int, settings: WebhookSettings, rng: random.Random) -> float:
    """Seconds before the next attempt: first_retry × 2^(n-1), capped, × a jitter in
    [0.5, 1] so that an endpoint coming back is not hit by every delivery at once."""
    base = min(settings.first_retry * 2 ** max(attempts - 1, 0), settings.max_retry)
    return base * (0.5 + rng.random() / 2)


@dataclass
class Outcome:
    outcome: str
    status: int | None = None
    error: str | None = None


@dataclass
class Deliverer:
    pool: asyncpg.Pool
    settings: WebhookSettings = field(default_factory=WebhookSettings)
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    clock: Clock = utc_now                         # schedules (a test moves it)
    wall: Callable[[], float] = time.time          # the webhook-timestamp header: real time
    rng: random.Random = field(default_factory=random.Random)
    _session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=CheckingResolver(self.policy),
                                             limit=50, limit_per_host=10)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                headers={"User-Agent": "iys-inbound-webhooks/1"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def sequence(self) -> int:
        """Number and fan out new events; how many were numbered."""
        row = await self.pool.fetchrow(SQL.sequence_and_fan_out, self.clock(), 1000)
        return int(row["sequenced"])

    async def step(self) -> int:
        """One round: sequence, claim what is due, send it all; how many were attempted."""
        await self.sequence()
        now = self.clock()
        lease_end = now + timedelta(seconds=self.settings.lease_seconds)
        claimed = await self.pool.fetch(SQL.claim_due, now, lease_end, self.settings.batch)
        if claimed:
            # one delivery's database error (its endpoint deleted meanwhile) must not abandon
            # the others' results: each is recorded on its own, a failed record is retried
            # when its lease ends
            results = await asyncio.gather(*(self.deliver(row) for row in claimed),
                                           return_exceptions=True)
            for failed in (r for r in results if isinstance(r, BaseException)):
                if not isinstance(failed, Exception):
                    raise failed
                log.warning("webhook delivery not recorded; retried after its lease",
                            error=str(failed)[:200])
        return len(claimed)

    async def post(self, row: Any, body: bytes, msg_id: str | None = None) -> Outcome:
        """One signed POST (``msg_id``: the event's own unless given, as for a sample)."""
        msg_id = msg_id or message_id(row["event_id"])
        ts = int(self.wall())
        in_use = [row["secret"]]
        overlap = row["previous_until"]
        if row["previous_secret"] and overlap is not None and overlap > self.clock():
            in_use.append(row["previous_secret"])
        headers = {"content-type": "application/json", "webhook-id": msg_id,
                   "webhook-timestamp": str(ts),
                   "webhook-signature": signature_header(in_use, msg_id, ts, body)}
        try:
            check_url(row["url"], self.policy)
            async with self.session().post(row["url"], data=body, headers=headers,
                                           allow_redirects=False) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return Outcome("delivered", response.status)
                return Outcome("http_error", response.status, f"HTTP {response.status}")
        except RefusedTarget as exc:
            return Outcome("refused", error=str(exc)[:300])
        except TimeoutError:
            return Outcome("timeout", error=f"no answer in {self.settings.timeout:g} s")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Outcome("error", error=(str(exc) or type(exc).__name__)[:300])

    async def deliver(self, row: Any) -> Outcome:
        body = payloads.from_row(row)
        started = time.monotonic()
        result = await self.post(row, body)
        latency = time.monotonic() - started
        LATENCY.observe(latency)
        ATTEMPTS.labels(result.outcome).inc()
        now = self.clock()
        endpoint, event = row["endpoint_id"], row["event_id"]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(SQL.log_attempt, endpoint, event, now, latency * 1000,
                               result.status, result.outcome, result.error)
            if result.outcome == "delivered":
                await conn.execute(SQL.delivered, endpoint, event, now, result.status)
                return result
            retry_at: datetime | None = now + timedelta(
                seconds=backoff(row["attempts"], self.settings, self.rng))
            if retry_at > row["first_attempt_at"] + self.settings.retry_for:
                retry_at = None
                GAVE_UP.inc()
            paused = await conn.fetchval(SQL.not_delivered, endpoint, event, retry_at,
                                         result.status, result.error, now,
                                         self.settings.pause_after)
        if paused:
            PAUSES.inc()
            log.warning("webhook endpoint paused: every delivery failed for a day",
                        endpoint=endpoint, last_error=result.error)
        return result

    async def refresh_gauges(self) -> None:
        PAUSED.set(await self.pool.fetchval(SQL.paused_count))
        row = await self.pool.fetchrow(SQL.pending_count, self.clock())
        BACKLOG.set(row["pending"])
        BACKLOG_AGE.set(float(row["oldest_seconds"]))

    async def run_forever(self) -> None:
        """Poll (the triggers do not NOTIFY: a NOTIFY serialises commits on the hot path)."""
        rounds = 0
        try:
            while True:
                try:
                    busy = await self.step()
                    if rounds % 30 == 0:
                        await self.refresh_gauges()
                except DATABASE_ERRORS as exc:
                    log.warning("webhook round failed; will retry", error=str(exc))
                    busy = 0
                rounds += 1
                if busy < self.settings.batch:
                    await asyncio.sleep(self.settings.poll_interval)
        finally:
            await self.close()

"""The outbox worker: every consent event to İYS at once, in order per key, within the law.

Wakes when this process commits events (``OutboxSignal``) or on ``NOTIFY iys_outbox`` from
another process (when busy, a quarter second after its last round, so that the wake-ups of
many MO commits make one claim) and also polls (a LISTEN connection can die
silently). Claims with ``FOR UPDATE SKIP LOCKED`` and a lease, so several processes share the
work and a crashed worker's events come back when its lease expires. Only the oldest pending
event of a key (brand, recipient, recipientType, type) is ever claimed, so İYS sees a key's
movements in the order they were received; among keys, the nearest deadline goes first.

Before anything is sent it is checked here (every 4xx counts against the IP's success ratio,
and İYS drops an IP below 70 %): format, source, dates, the three-business-day window, and
İYS's state of the key. A small backlog goes out as single v2 adds at once; a large one (a
campaign's RET wave) through the batch endpoint, ≤ 1000 items and one per key per request,
results polled after ``batch_poll_delay``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from iys_push import metrics, store
from iys_push.client import Answer, IysClient, IysSettings
from iys_push.gauges import (
    GAUGE_INTERVAL,
    GAUGE_MAX_PAUSE,
    gauge_pause,
    ratio_pause,
    requeue_failed,
    update_gauges,
    update_success_ratio,
)
from iys_push.puller import Puller
from iys_push.retry import (
    DEFAULT_POLICY,
    NO_ONAY,
    SUPERSEDED,
    RetryPolicy,
    Verdict,
    View,
    before_sending,
    classify,
    consent_body,
    judge_stored,
    must_ask,
    plan_consent_date,
    trouble,
    waiting,
    with_onay,
)
from iys_push.timefmt import parse_iys

__all__ = ["GAUGE_INTERVAL", "GAUGE_MAX_PAUSE", "IysSettings", "Puller", "Pusher", "gauge_pause",
           "requeue_failed", "update_gauges", "update_success_ratio"]

log = structlog.get_logger(__name__)

BATCH_SIZE = 1000                       # İYS: at most 1000 items a list (H091)
STATUS_CHUNK = 1000                     # İYS: at most 1000 recipients a status query
BATCH_GIVE_UP = timedelta(hours=1)      # at least; results still missing → single path
Event = Mapping[str, Any]


def pause_after(handled: int, settings: IysSettings, *, intake: float = 0.0) -> float:
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
                 interval: float = 0.2) -> None:
        self.pool = pool
        self.local = local
        self.interval = interval
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
                await self.pool.execute(store.NOTIFY_OUTBOX)
            except Exception as exc:  # the other pushers poll: late, not lost
                log.warning("pusher: could not notify other processes", error=str(exc))
            await asyncio.sleep(self.interval)


class Pusher:
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
        """Until cancelled; errors are logged and waited out, never fatal."""
        helpers = [asyncio.create_task(self._listen()), asyncio.create_task(self._gauges())]
        failures = 0
        try:
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
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self.client.close()

    async def _pause(self, done: int) -> None:
        """``pause_after`` a round, the intake looked at again every ``coalesce`` seconds:
        a pause taken at the yielding pace ends early when the MO wave does."""
        started = time.monotonic()
        while True:
            intake = self.intake()
            metrics.PUSH_YIELDING.set(yields_to(intake, self.settings))
            left = pause_after(done, self.settings, intake=intake) - (time.monotonic() - started)
            if left <= 0:
                return
            await asyncio.sleep(min(left, self.settings.coalesce))

    async def _listen(self) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener("iys_outbox", lambda *_: self._wake.set())
                metrics.LISTEN_HEALTHY.set(1)
                self._wake.set()  # anything that arrived while we were not listening
                while not conn.is_closed():
                    await asyncio.sleep(5)
                    await conn.fetchval("SELECT 1")  # proves the connection still answers
            except Exception as exc:
                log.warning("pusher: LISTEN connection lost", error=str(exc))
            finally:
                metrics.LISTEN_HEALTHY.set(0)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(1)

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
        handled = await self._poll_batches()
        above = self.settings.batch_above
        if await store.due_count(self.pool, above + 1) > above:
            return handled + await self._submit_batch()
        claim = max(1, int(self.settings.requests_per_second * 2))
        events = await store.claim(self.pool, claim, self.worker_id,
                                   self.settings.lease_seconds)
        results = await asyncio.gather(*(self._push_one(e) for e in events),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):  # its lease expires and it is taken again
                log.error("pusher: could not settle an event", error=repr(result))
        return handled + len(events)

    # -- single adds ---------------------------------------------------------------------------
    async def _push_one(self, event: Event) -> None:
        date: datetime | None = None
        try:
            verdict, date = await self._prepare(event)
            if verdict is None and date is not None:
                answer = await self.client.add_consent(
                    event["iys_code"], event["brand_code"], consent_body(event, date),
                    event_id=event["id"])
                verdict = classify(answer, event["status"])
        except Exception as exc:  # an outage or a bug must never lose the event
            verdict = trouble(exc)
        await self._settle([(event, verdict, date)])

    async def _prepare(self, event: Event) -> tuple[Verdict | None, datetime | None]:
        """A verdict reached without an add request, or (None, the consentDate to send)."""
        now = datetime.now(UTC)
        verdict = before_sending(event, now)
        if verdict is not None:
            return verdict, None
        before = view = View.of(event)
        if plan_consent_date(event["received_at"], view) is None:
            return SUPERSEDED, None         # the pulled feed shows a newer movement: no request
        if must_ask(event, view):
            onay = await self._ask_onay([event])
            if not onay[event["id"]]:
                return NO_ONAY, None
            view = with_onay(view)
        waited = (now - event["received_at"]).total_seconds() > self.settings.date_check_after
        if waited and view is not None and view.status == "ONAY":
            # it waited (an outage, retries): the citizen may have moved the key in İYS since,
            # within the hour the feed hides. A key with ONAY has a record: the status query
            # answers 200 (a 404 would count against the success ratio).
            stored = await self._ask_stored(event, before)
            if stored is not None:
                verdict = judge_stored(event, before, stored)
                if verdict is not None:
                    return verdict, None
                view = View(stored.status, stored.consent_date, "status")
        date = plan_consent_date(event["received_at"], view)
        if date is None:
            return SUPERSEDED, None
        if date > now:
            return waiting(date), date
        return None, date

    async def _ask_stored(self, event: Event, before: View | None) -> View | None:
        """İYS's stored movement of the event's key, with its date (single status query; the
        attempt is the event's evidence); written to our view. None when İYS does not say
        (then H178 still settles a superseded event after the add)."""
        answer = await self.client.consent_status(
            event["iys_code"], event["brand_code"], event["recipient"],
            event["recipient_type"], event["type"], event_id=event["id"])
        body = answer.body
        if not answer.ok or not isinstance(body, dict) or body.get("status") not in (
                "ONAY", "RET"):
            return None
        try:
            date = parse_iys(body["consentDate"]) if body.get("consentDate") else None
        except ValueError:
            date = None
        # our own last push (retry.judge_stored): its view keeps its origin
        ours = (before is not None and before.origin in ("push", "status")
                and before.consent_date == date)
        origin = before.origin if ours and before else "status_date"
        await self.pool.execute(store.UPSERT_KEY_STATE, *store.key_state_columns([(
            event["brand_code"], event["recipient"], event["recipient_type"], event["type"],
            body["status"], date, body.get("source"), origin)]))
        return View(body["status"], date, origin)

    async def _ask_onay(self, events: list[Event]) -> dict[int, bool]:
        """Ask İYS (batch status, 1000 a query) whether each event's key has ONAY; the answers
        go into the view."""
        groups: dict[tuple[int, int, str, str], list[Event]] = defaultdict(list)
        for e in events:
            groups[(e["iys_code"], e["brand_code"], e["recipient_type"], e["type"])].append(e)
        result: dict[int, bool] = {}
        rows = []
        for (iys_code, brand_code, recipient_type, type_), members in groups.items():
            recipients = list(dict.fromkeys(e["recipient"] for e in members))
            listed: set[str] = set()
            for start in range(0, len(recipients), STATUS_CHUNK):
                listed |= await self.client.onay_recipients(
                    iys_code, brand_code, recipient_type, type_,
                    recipients[start:start + STATUS_CHUNK])
            for e in members:
                result[e["id"]] = e["recipient"] in listed
                view = View.of(e)
                rows.append((brand_code, e["recipient"], recipient_type, type_,
                             "ONAY" if result[e["id"]] else "RET",
                             view.consent_date if view else None, None, "status"))
        await self.pool.execute(store.UPSERT_KEY_STATE, *store.key_state_columns(rows))
        return result

    # -- outcomes ------------------------------------------------------------------------------
    async def _settle(self, items: Iterable[tuple[Event, Verdict, datetime | None]]) -> None:
        """Write each event's outcome (one round trip per statement kind) and count it; then
        the pending events that only repeat a settled one (``store.SETTLE_RUN``)."""
        finish, retry, views, forget, heads = [], [], [], [], []
        now = datetime.now(UTC)
        for event, v, date in items:
            if v.state in ("retry", "wait"):
                when = v.until or self.policy.next_attempt(event["attempts"], now,
                                                           event["deadline_at"])
                retry.append((event["id"], when, v.code, (v.message or "")[:500], date))
                metrics.RETRIES.labels((v.code or "order") if v.state == "wait"
                                      else "temporary").inc()
                continue
            finish.append((event["id"], v.state, v.transaction_id, v.creation_date, v.code,
                           v.message, date))
            metrics.EVENTS_FINISHED.labels(event["brand_id"], event["status"], v.state).inc()
            key = (event["brand_code"], event["recipient"], event["recipient_type"],
                   event["type"])
            if v.state in ("accepted", "not_needed", "duplicate"):
                heads.append(event["id"])   # what İYS holds now is this event's status
            if v.state == "accepted":
                metrics.PUSH_LATENCY.observe((now - event["received_at"]).total_seconds())
                views.append((*key, event["status"], date or event["consent_date"],
                              event["source"], "push"))
            elif v.state == "not_needed":
                metrics.NOT_SENT.labels(v.code or "").inc()
                if v.known_status:
                    views.append((*key, v.known_status, None, None, "status"))
            elif v.state == "superseded":
                # evidence kept (attempts, code), no alert: the newer word stands in İYS
                log.info("consent event superseded by a newer movement in İYS",
                         event_id=event["id"], code=v.code)
                if v.code == "H178":
                    forget.append(key)  # our view did not know that movement: ask next time
            elif v.state == "failed":
                metrics.BUSINESS_FAILURES.labels(event["brand_id"], v.code or "").inc()
                log.error("consent event failed; a person must look at it",
                          event_id=event["id"], code=v.code, reason=v.message)
        async with self.pool.acquire() as conn, conn.transaction():
            if finish:
                await conn.execute(store.FINISH, *store.columns(finish, 7))
            if retry:
                await conn.execute(store.RETRY, *store.columns(retry, 5))
            if views:
                await conn.execute(store.UPSERT_KEY_STATE, *store.key_state_columns(views))
            if forget:
                await conn.execute(store.FORGET_KEY_STATE, *store.columns(forget, 4))
            repeats = await conn.fetch(store.SETTLE_RUN, heads) if heads else []
        for row in repeats:
            metrics.EVENTS_FINISHED.labels(row["brand_id"], row["status"], "duplicate").inc()

    # -- the batch path ------------------------------------------------------------------------
    def _batch_give_up(self) -> timedelta:
        """How long a batch's missing results are waited for before its items go singly."""
        return max(BATCH_GIVE_UP, timedelta(seconds=12 * self.settings.batch_poll_delay))

    async def _submit_batch(self) -> int:
        events = await store.claim(self.pool, BATCH_SIZE, self.worker_id,
                                   self.settings.lease_seconds)
        now = datetime.now(UTC)
        settled: list[tuple[Event, Verdict, datetime | None]] = []
        ready: list[Event] = []
        for e in events:
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
            if e["id"] in onay:
                if not onay[e["id"]]:
                    settled.append((e, NO_ONAY, None))
                    continue
                view = with_onay(view)
            date = plan_consent_date(e["received_at"], view)
            if date is None:
                settled.append((e, SUPERSEDED, None))
            elif date > now:
                settled.append((e, waiting(date), date))
            else:
                groups[(e["iys_code"], e["brand_code"])].append((e, date))
        # a batch that İYS leaves unanswered is given up only after _batch_give_up(): an event
        # whose deadline comes sooner (plus an hour to spare) goes as a single add instead
        urgent_before = now + self._batch_give_up() + timedelta(hours=1)
        urgent = [e for items in groups.values() for e, _ in items
                  if e["deadline_at"] < urgent_before]
        for (iys_code, brand_code), items in groups.items():
            items = [(e, d) for e, d in items if e["deadline_at"] >= urgent_before]
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
                await conn.execute(store.MARK_BATCHED, str(body["requestId"]),
                                   [e["id"] for e, _ in items], list(range(len(items))),
                                   [d for _, d in items])
                await conn.execute(store.INSERT_BATCH, str(body["requestId"]), iys_code,
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
        for batch in await self.pool.fetch(store.CLAIM_BATCHES, self.worker_id, lease, 10):
            handled += await self._poll_batch(batch)
        return handled

    async def _poll_batch(self, batch: Mapping[str, Any]) -> int:
        request_id = batch["request_id"]
        try:
            answer = await self.client.batch_result(batch["iys_code"], batch["brand_code"],
                                                    request_id)
        except Exception as exc:
            answer = Answer(None, None, None, str(exc))
        events = await self.pool.fetch(store.BATCH_EVENTS, request_id)
        if not events:
            await self.pool.execute(store.DONE_BATCH, request_id)
            return 0
        if not answer.ok or not isinstance(answer.body, list):
            if answer.status == 422:  # İYS does not know this requestId: send again
                await self._release(request_id)
            else:
                await self.pool.execute(store.REPOLL_BATCH, request_id,
                                        self.policy.delay(batch["polls"]))
            return 0
        by_index = {r.get("index"): r for r in answer.body if isinstance(r, dict)}
        settled: list[tuple[Event, Verdict, datetime | None]] = []
        for e in events:
            result = by_index.get(e["batch_index"])
            if result is None or result.get("status") not in ("success", "failure"):
                continue  # enqueue (or not listed yet): asked again later
            if result["status"] == "success":
                verdict = Verdict("accepted", transaction_id=result.get("transactionId"),
                                  creation_date=result.get("creationDate"))
            else:
                error = result.get("error") or {}
                verdict = classify(Answer(400, {"errors": [error]}, error.get("code"),
                                          str(error.get("message", ""))), e["status"])
            settled.append((e, verdict, e["consent_date"]))
        await self._settle(settled)
        if len(settled) == len(events):
            await self.pool.execute(store.DONE_BATCH, request_id)
        elif datetime.now(UTC) - batch["submitted_at"] > self._batch_give_up():
            log.warning("İYS batch results did not come; its items go again one by one",
                        request_id=request_id, waiting=len(events) - len(settled))
            await self._release(request_id)
        else:
            await self.pool.execute(store.REPOLL_BATCH, request_id,
                                    max(1.0, self.settings.batch_poll_delay / 5))
        return len(settled)

    async def _release(self, request_id: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(store.RELEASE_BATCH_EVENTS, request_id)
            await conn.execute(store.DONE_BATCH, request_id)

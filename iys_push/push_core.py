"""Single adds and outcomes: what the pusher decides for one claimed event, and how each
outcome is written (iys_push.pusher runs it, iys_push.batch_path shares it).

Supersession is one rule (retry.py): a newer movement of the key in İYS, seen in the pulled
feed, in the status query that reads its stored date, or in H178, settles the event as
``superseded`` with its evidence and without an alert. A settled event takes the pending
repeats of its status right behind it along as ``duplicate`` (store.SQL.settle_run).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

import asyncpg
import structlog

from iys_push import metrics, store
from iys_push.client import IysClient, IysSettings
from iys_push.events import ClaimedEvent
from iys_push.retry import (
    NO_ONAY,
    SUPERSEDED,
    RetryPolicy,
    Verdict,
    View,
    before_sending,
    classify,
    consent_body,
    judge_stored,
    known_ret,
    must_ask,
    plan_consent_date,
    trouble,
    waiting,
    with_onay,
)
from iys_push.timefmt import parse_iys

# A round settles up to 1,000 events in the event loop the SMPP links share: every this many,
# the loop is given back (asyncio.sleep(0)), so acks keep flowing. Measured at 10M rows: a
# round of 1,000 failures (each logged) held the loop 117-195 ms, and the PDUs that arrived
# meanwhile at 1,000 MO/s went past max_uncommitted: answered ESME_RTHROTTLED
# (docs/DESIGN-NOTES.md "Paced 1,000 MO/s: throttled while a push round held the loop").
YIELD_EVERY = 50


async def breathe(i: int) -> None:
    """Give the event loop back after every ``YIELD_EVERY`` items of a long loop."""
    if i % YIELD_EVERY == YIELD_EVERY - 1:
        await asyncio.sleep(0)

log = structlog.get_logger(__name__)


def _iys_time(text: str | None) -> datetime | None:
    try:
        return parse_iys(text) if text else None
    except ValueError:
        return None

STATUS_CHUNK = 1000                     # İYS: at most 1000 recipients a status query
Event = ClaimedEvent


class PushCore:
    pool: asyncpg.Pool
    settings: IysSettings
    client: IysClient
    policy: RetryPolicy

    # -- single adds ---------------------------------------------------------------------------
    async def _push_one(self, event: Event) -> None:
        date: datetime | None = None
        try:
            verdict, date = await self._prepare(event)
            if verdict is None and date is not None:
                answer = await self.client.add_consent(
                    event.iys_code, event.brand_code, consent_body(event, date),
                    event_id=event.id)
                verdict = classify(answer, event.status)
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
        settled = known_ret(event, view)
        if settled is not None:
            return settled, None            # İYS told us of the RET itself just now
        if plan_consent_date(event.received_at, view) is None:
            return SUPERSEDED, None         # the pulled feed shows a newer movement: no request
        if must_ask(event, view):
            onay = await self._ask_onay([event])
            if not onay[event.id]:
                return NO_ONAY, None
            view = with_onay(view)
        waited = (now - event.received_at).total_seconds() > self.settings.date_check_after
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
        date = plan_consent_date(event.received_at, view)
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
            event.iys_code, event.brand_code, event.recipient,
            event.recipient_type, event.type, event_id=event.id)
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
        await self.pool.execute(store.SQL.upsert_key_state, *store.key_state_columns([(
            event.brand_code, event.recipient, event.recipient_type, event.type,
            body["status"], date, body.get("source"), origin)]))
        return View(body["status"], date, origin)

    async def _ask_onay(self, events: list[Event]) -> dict[int, bool]:
        """Ask İYS (batch status, 1000 a query) whether each event's key has ONAY; the answers
        go into the view."""
        groups: dict[tuple[int, int, str, str], list[Event]] = defaultdict(list)
        for e in events:
            groups[(e.iys_code, e.brand_code, e.recipient_type, e.type)].append(e)
        result: dict[int, bool] = {}
        rows = []
        for (iys_code, brand_code, recipient_type, type_), members in groups.items():
            recipients = list(dict.fromkeys(e.recipient for e in members))
            listed: set[str] = set()
            for start in range(0, len(recipients), STATUS_CHUNK):
                listed |= await self.client.onay_recipients(
                    iys_code, brand_code, recipient_type, type_,
                    recipients[start:start + STATUS_CHUNK])
            for e in members:
                result[e.id] = e.recipient in listed
                view = View.of(e)
                rows.append((brand_code, e.recipient, recipient_type, type_,
                             "ONAY" if result[e.id] else "RET",
                             view.consent_date if view else None, None, "status"))
        await self.pool.execute(store.SQL.upsert_key_state, *store.key_state_columns(rows))
        return result

    # -- outcomes ------------------------------------------------------------------------------
    async def _settle(self, items: Iterable[tuple[Event, Verdict, datetime | None]]) -> None:
        """Write each event's outcome (one round trip per statement kind) and count it; then
        the pending events that only repeat a settled one (``store.SQL.settle_run``)."""
        finish, retry, views, forget, heads = [], [], [], [], []
        now = datetime.now(UTC)
        for i, (event, v, date) in enumerate(items):
            await breathe(i)
            if v.state in ("retry", "wait"):
                when = v.until or self.policy.next_attempt(event.attempts, now,
                                                           event.deadline_at)
                retry.append((event.id, when, v.code, (v.message or "")[:500], date))
                metrics.RETRIES.labels((v.code or "order") if v.state == "wait"
                                      else "temporary").inc()
                continue
            finish.append((event.id, v.state, v.transaction_id, v.creation_date, v.code,
                           v.message, date))
            metrics.EVENTS_FINISHED.labels(event.brand_id, event.status, v.state).inc()
            key = (event.brand_code, event.recipient, event.recipient_type,
                   event.type)
            if v.state in ("accepted", "not_needed", "duplicate"):
                heads.append(event.id)   # what İYS holds now is this event's status
            if v.state == "accepted":
                metrics.PUSH_LATENCY.observe((now - event.received_at).total_seconds())
                views.append((*key, event.status, date or event.consent_date,
                              event.source, "push", v.transaction_id,
                              _iys_time(v.creation_date)))
            elif v.state == "not_needed":
                metrics.NOT_SENT.labels(v.code or "").inc()
                if v.known_status:
                    views.append((*key, v.known_status, None, None, "status"))
            elif v.state == "superseded":
                # evidence kept (attempts, code), no alert: the newer word stands in İYS
                log.info("consent event superseded by a newer movement in İYS",
                         event_id=event.id, code=v.code)
                if v.code == "H178":
                    forget.append(key)  # our view did not know that movement: ask next time
            elif v.state == "failed":
                metrics.BUSINESS_FAILURES.labels(event.brand_id, v.code or "").inc()
                log.error("consent event failed; a person must look at it",
                          event_id=event.id, code=v.code, reason=v.message)
        async with self.pool.acquire() as conn, conn.transaction():
            if finish:
                await conn.execute(store.SQL.finish, *store.columns(finish, 7))
            if retry:
                await conn.execute(store.SQL.retry, *store.columns(retry, 5))
            if views:
                await conn.execute(store.SQL.upsert_key_state, *store.key_state_columns(views))
            if forget:
                await conn.execute(store.SQL.forget_key_state, *store.columns(forget, 4))
            repeats = await conn.fetch(store.SQL.settle_run, heads) if heads else []
        for row in repeats:
            metrics.EVENTS_FINISHED.labels(row["brand_id"], row["status"], "duplicate").inc()

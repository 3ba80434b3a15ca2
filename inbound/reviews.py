"""The review queue: near misses waiting for a person, and the RET they become by themselves.

A message that looks like an attempt to opt out but is not a command ("iptal etmek
istiyorum", "izin vermiyorum") is stored by the pipeline with outcome ``needs_review`` and,
in the same commit, the RETs a confirmation would create as consent_event rows in state
``review`` (never claimed by the pusher), with the deadline a RET received at that moment
has. The brand's owner confirms one (-> ``pending``: sent to İYS as a RET with the original
receipt time as consent date) or dismisses it (-> ``dismissed``) through the API or the web
page; both are audited. An item still open at 90 % of its window (received_at to
deadline_at) becomes the RET by itself, audited with the actor ``system``, unless the
brand's settings hold ``review_auto_ret = false``: the law protects the recipient first.

Every change is one conditional UPDATE on ``state = 'review'``, so a person and the
automatic RET (in any number of processes, under ``SKIP LOCKED``) cannot both decide an
item: the second finds it decided (the API answers 409).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import structlog

from inbound import metrics
from inbound.api.admin import AUDIT_VIA
from inbound.db import DATABASE_ERRORS
from inbound.store import SQL
from iys_push.store import SQL as PUSH_SQL

log = structlog.get_logger(__name__)

AUTO_RET_SHARE = 0.9            # of the window received_at -> deadline_at
AUTO_RET_INTERVAL = 60.0        # seconds between two runs of the periodic task
AUTO_RET_BATCH = 500            # items decided per statement

Decision = Literal["confirmed", "dismissed"]

# -- deciding --------------------------------------------------------------------------------


class NotReviewable(Exception):
    """The event is not a review item of this brand (the API answers 404)."""


class AlreadyDecided(Exception):
    """The review item was decided before (the API answers 409)."""

    def __init__(self, item: dict[str, Any]) -> None:
        super().__init__(f"review item {item['id']} was already decided")
        self.item = item


@dataclass(frozen=True)
class Actor:
    """Who decides: for the audit row (as the configuration changes' actors) and the event."""

    token_id: int | None
    owner_id: int | None
    admin: bool
    user_id: int | None = None  # the web page's signed-in person (issue #33)

    @property
    def label(self) -> str:
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.owner_id is not None:
            return f"owner:{self.owner_id}"
        return f"token:{self.token_id}" if self.token_id is not None else "admin"


def item_view(row: asyncpg.Record) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


async def decide(pool: asyncpg.Pool, brand_id: str, event_id: int, decision: Decision,
                 actor: Actor) -> dict[str, Any]:
    """Confirm (-> pending, pushed as the RET) or dismiss one open item, audited in the same
    transaction. The caller has checked that the actor may see ``brand_id``."""
    state = "pending" if decision == "confirmed" else "dismissed"
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchrow(SQL.review_item, event_id, brand_id)
        if before is None or (before["state"] != "review" and before["review_decision"] is None):
            raise NotReviewable(f"no review item {event_id} for brand {brand_id!r}")
        decided = await conn.fetchval(SQL.decide_review, event_id, brand_id, state, decision,
                                      actor.label)
        if decided is None:
            raise AlreadyDecided(item_view(await conn.fetchrow(SQL.review_item, event_id,
                                                               brand_id)))
        after = item_view(await conn.fetchrow(SQL.review_item, event_id, brand_id))
        owner = await conn.fetchval(SQL.brand_owner, brand_id)
        await conn.execute(
            SQL.insert_review_audit, actor.token_id, actor.owner_id, actor.admin,
            "confirm" if decision == "confirmed" else "dismiss", str(event_id),
            [owner] if owner is not None else [], _audit_view(item_view(before)),
            _audit_view(after), actor.user_id, AUDIT_VIA.get())
        if state == "pending":
            await conn.execute(PUSH_SQL.notify_outbox)
    metrics.REVIEWS_DECIDED.labels(brand_id, decision).inc()
    log.info("review decided", event_id=event_id, brand=brand_id, decision=decision,
             actor=actor.label)
    return after


def _audit_view(item: dict[str, Any]) -> dict[str, Any]:
    """The audit's before/after: the decision and its dates, without the phone number or the
    message text (the event keeps both; the audit is read by more people)."""
    keep = ("state", "review_decision", "reviewed_by", "reviewed_at", "brand_id", "status",
            "type", "received_at", "deadline_at", "consent_date")
    return {k: item[k] for k in keep}


async def auto_ret_due(pool: asyncpg.Pool, *, batch: int = AUTO_RET_BATCH) -> int:
    """Turn every item past 90 % of its window into its RET (brands that opted out aside);
    returns how many. Safe to run in several processes at once."""
    total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(SQL.auto_ret, batch)
            if rows:
                await conn.execute(PUSH_SQL.notify_outbox)
        for row in rows:
            metrics.REVIEWS_DECIDED.labels(row["brand_id"], "automatic").inc()
        if rows:
            log.warning("review items became RETs automatically (unreviewed at 90 % of "
                        "their window)", events=json.dumps([r["id"] for r in rows]))
        total += len(rows)
        if len(rows) < batch:
            return total


async def update_gauges(pool: asyncpg.Pool) -> None:
    row = await pool.fetchrow(SQL.review_gauges)
    metrics.REVIEWS_PENDING.set(row["pending"])
    metrics.REVIEWS_PAST_HALF.set(row["past_half"])
    nearest = row["nearest_deadline"]
    metrics.REVIEW_NEAREST_DEADLINE.set(nearest if nearest is not None
                                        else metrics.NO_REVIEW_DEADLINE_SECONDS)


async def run_forever(pool: asyncpg.Pool, interval: float = AUTO_RET_INTERVAL) -> None:
    """The service's periodic task: the automatic RET, then the gauges, every ``interval``
    seconds (90 % of a three-business-day window leaves hours, so a minute is plenty)."""
    while True:
        try:
            await auto_ret_due(pool)
            await update_gauges(pool)
        except DATABASE_ERRORS as exc:
            log.warning("review queue task failed; will retry", error=str(exc))
        await asyncio.sleep(interval)

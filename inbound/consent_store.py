"""Writing and reading consents from the brand's own channels (issue #28): one ledger.

A recorded consent is a ``consent_submission`` row (who, through what, the recipient as
written, the caller's evidence) and one ``consent_event`` per type, in state ``pending``,
next to the SMS events: the pusher sends them with the same per-key order, supersession,
duplicates and deadlines. The event's ``received_at`` is the consent date — the moment the
person gave it — because the pusher orders a key's events by (received_at, id) and plans
İYS's consentDate from received_at: an SMS RET and a call-centre ONAY of one key go to İYS
in the order the person gave them, and the deadline is three business days after that
moment (``iys_push.calendar.deadline_for``).

An ``Idempotency-Key`` makes a retried request return the first answer: the answer is
stored in the transaction that records the consents, so it exists exactly when they do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import asyncpg
from prometheus_client import Counter

from inbound import sqlfile
from inbound.consents import Consent
from iys_push import calendar
from iys_push.store import SQL as PUSH_SQL
from iys_push.timefmt import iso_tr

CONSENTS_RECORDED = Counter(
    "iys_inbound_consents_recorded_total",
    "Consents recorded from the brand's own channels, by brand, source (HS_WEB, "
    "HS_CAGRI_MERKEZI …), status and where they were entered (api, web, cli)",
    ["brand", "source", "status", "via"])
CONSENTS_REFUSED = Counter(
    "iys_inbound_consents_refused_total",
    "Consent requests refused before anything was stored, by where and HTTP status",
    ["via", "status"])

SQL = sqlfile.load("inbound", "sql/consents.sql")
IDEMPOTENCY_DAYS = 30   # how long an Idempotency-Key's answer is kept (prune_idempotency)


@dataclass(frozen=True)
class Actor:
    """Who records: ``via`` api | web | cli, and ``actor`` 'owner:ID', 'token:ID', 'admin'
    or 'cli'; ``scope`` keys the Idempotency-Key (per owner; the operator is one scope)."""

    via: str
    actor: str
    scope: str


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with another request."""


def request_digest(method: str, path: str, body: Any) -> bytes:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).digest()


async def replay(pool: asyncpg.Pool, scope: str, key: str, digest: bytes
                 ) -> dict[str, Any] | None:
    """The first answer to this key, if the request is the same; IdempotencyConflict if the
    key was used with another request; None if the key is new."""
    row = await pool.fetchrow(SQL.idempotent_answer, scope, key)
    if row is None:
        return None
    if bytes(row["request_digest"]) != digest:
        raise IdempotencyConflict(key)
    return json.loads(row["response"]) if isinstance(row["response"], str) else row["response"]


async def known_keys(pool: asyncpg.Pool, brand_id: str, consents: list[Consent]
                     ) -> set[tuple[str, str, str]]:
    keys = [k for c in consents if c.source == "HS_KARAR" for k in c.keys()]
    if not keys:
        return set()
    rows = await pool.fetch(SQL.known_keys, brand_id,
                            *[list(x) for x in zip(*keys, strict=True)])
    return {(r["recipient"], r["recipient_type"], r["type"]) for r in rows}


async def record(pool: asyncpg.Pool, brand_id: str, consents: list[Consent], actor: Actor,
                 *, idempotency_key: str | None = None, digest: bytes | None = None
                 ) -> dict[str, Any]:
    """Store the consents and their events in one transaction; the 202 answer (stored with
    the Idempotency-Key, when one is given)."""
    async with pool.acquire() as conn, conn.transaction():
        if idempotency_key is not None:
            await conn.execute(SQL.prune_idempotency, IDEMPOTENCY_DAYS)
            if await conn.fetchval(SQL.claim_idempotency, actor.scope, idempotency_key,
                                   digest) is None:
                # a concurrent request with this key committed first: its answer stands
                first = await replay(pool, actor.scope, idempotency_key, digest or b"")
                return first or {}
        answer = await write(conn, brand_id, consents, actor, idempotency_key=idempotency_key)
        if idempotency_key is not None:
            await conn.execute(SQL.save_idempotent_answer, actor.scope, idempotency_key,
                               json.dumps(answer, ensure_ascii=False))
    counted(brand_id, consents, actor)
    await pool.execute(PUSH_SQL.notify_outbox)   # wake the pushers of every process now
    return answer


def counted(brand_id: str, consents: list[Consent], actor: Actor) -> None:
    """Count recorded consents (after their transaction committed)."""
    for c in consents:
        CONSENTS_RECORDED.labels(brand_id, c.source, c.status, actor.via).inc(len(c.types))


async def write(conn: asyncpg.Connection, brand_id: str, consents: list[Consent],
                actor: Actor, *, idempotency_key: str | None = None) -> dict[str, Any]:
    """The submissions and their events, inside the caller's transaction (a link's page
    records its own state in the same one); the caller counts (``counted``) and notifies
    (``iys_push.store.SQL.notify_outbox``) after the commit."""
    submissions = await conn.fetch(
        SQL.insert_submissions, brand_id, actor.via, actor.actor, idempotency_key,
        [c.index for c in consents], [c.recipient_input for c in consents],
        [c.consent_date for c in consents],
        [json.dumps(c.evidence, ensure_ascii=False) for c in consents])
    by_index = {r["item_index"]: r["id"] for r in submissions}
    rows = [(by_index[c.index], c.recipient, c.recipient_type, t, c.status, c.source,
             c.consent_date, calendar.deadline_for(c.consent_date))
            for c in consents for t in c.types]
    events = await conn.fetch(SQL.insert_submission_events, brand_id,
                              *[list(col) for col in zip(*rows, strict=True)])
    return _answer(consents, by_index, events)


def _answer(consents: list[Consent], by_index: dict[int, int],
            events: list[asyncpg.Record]) -> dict[str, Any]:
    per_submission: dict[int, list[dict[str, Any]]] = {}
    for e in sorted(events, key=lambda e: e["id"]):
        per_submission.setdefault(e["submission_id"], []).append(
            {"id": e["id"], "type": e["type"], "state": e["state"]})
    return {"consents": [{
        "index": c.index, "submission_id": by_index[c.index], "recipient": c.recipient,
        "recipient_type": c.recipient_type, "status": c.status, "source": c.source,
        "consent_date": iso_tr(c.consent_date),
        "deadline_at": calendar.deadline_for(c.consent_date).isoformat(),
        "events": per_submission.get(by_index[c.index], [])} for c in consents]}

"""The İYS mirror (iys_key_state, one row per key) and the ONE way an İYS-side movement
enters it: ``apply_movements``.

Every feed calls it: the changes puller (``source=IYS`` and ``source=HS``), İYS's push
registration (``POST /iys/push/{brand}``), the daily reconciliation file. Each movement is
stored once in ``iys_change`` (the unique key absorbs repeats, from any feed and any
process) and only the ones stored now are applied to the mirror, where the newer movement
wins (a later consent date; at the same or no consent date, a later creation date). Our own
accepted pushes come back in the HS feed and in the daily file: they are recognised by their
transaction id and keep the origin ``push``, so a trigger watching origins pull / iys_push /
reconcile (the webhook's ``iys.changed``) sees only movements that are not ours.

Our accepted pushes themselves enter the mirror in the pusher (push_core._settle, origin
``push``, with their transaction id and creation date); a seeding run through ``seed_state``
(origin ``seed``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from inbound import sqlfile
from iys_push.timefmt import parse_iys

SQL = sqlfile.load("iys_push", "sql/mirror.sql")

# origins of mirror rows that are İYS's own word about a movement not ours
IYS_SIDE_ORIGINS = frozenset({"pull", "iys_push", "reconcile"})
Channel = Literal["pull_iys", "pull_hs", "iys_push", "reconcile"]
ORIGIN_OF: dict[str, str] = {"pull_iys": "pull", "pull_hs": "pull", "iys_push": "iys_push",
                             "reconcile": "reconcile"}
TYPES = ("MESAJ", "ARAMA", "EPOSTA")
RECIPIENT_TYPES = ("BIREYSEL", "TACIR")
STATUSES = ("ONAY", "RET")
_LOW = datetime(2000, 1, 1, tzinfo=UTC)


class BadMovement(ValueError):
    """An item that is not an İYS movement (the reason names the field)."""


@dataclass(frozen=True)
class Movement:
    """One İYS movement as the feeds give it (pull §2.7, push §2.8, daily file §2.9)."""

    transaction_id: str
    recipient: str
    recipient_type: str
    type: str
    status: str
    source: str
    consent_date: datetime | None
    creation_date: datetime | None
    consent_text: str | None          # İYS's own text, kept as it came
    creation_text: str | None
    raw: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.recipient, self.recipient_type, self.type)

    @property
    def order(self) -> tuple[datetime, datetime]:
        return (self.consent_date or _LOW, self.creation_date or _LOW)


def _text(item: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise BadMovement(f"{name}: missing")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadMovement(f"{name}: expected text")
    return str(value)


def _date(item: Mapping[str, Any], name: str) -> tuple[datetime | None, str | None]:
    text = _text(item, name, required=False)
    if text is None:
        return None, None   # a TACIR line closure (IYS_AHS_HAT_KAPATMA) may carry no date
    try:
        return parse_iys(text), text
    except ValueError:
        raise BadMovement(f"{name}: not YYYY-MM-DD HH:MM:SS") from None


def movement_of(item: Any) -> Movement:
    """Validate one item of a feed; raises BadMovement."""
    if not isinstance(item, Mapping):
        raise BadMovement("expected an object")
    type_ = _text(item, "type")
    status = _text(item, "status")
    recipient_type = _text(item, "recipientType", required=False) or "BIREYSEL"
    if type_ not in TYPES:
        raise BadMovement(f"type: one of {', '.join(TYPES)}")
    if status not in STATUSES:
        raise BadMovement("status: ONAY or RET")
    if recipient_type not in RECIPIENT_TYPES:
        raise BadMovement("recipientType: BIREYSEL or TACIR")
    recipient = str(_text(item, "recipient"))
    if len(recipient) > 265:
        raise BadMovement("recipient: too long")
    if type_ == "EPOSTA":
        recipient = recipient.lower()   # İYS stores e-mail addresses in lower case
    transaction_id = str(_text(item, "transactionId"))
    if len(transaction_id) > 200:
        raise BadMovement("transactionId: too long")
    consent_date, consent_text = _date(item, "consentDate")
    creation_date, creation_text = _date(item, "creationDate")
    return Movement(transaction_id, recipient, recipient_type, type_, status,
                    str(_text(item, "source")), consent_date, creation_date, consent_text,
                    creation_text, item)


@dataclass(frozen=True)
class Applied:
    """What ``apply_movements`` did: movements stored for the first time (of which ours),
    and mirror rows changed."""

    new: int = 0
    ours: int = 0
    changed: int = 0
    new_keys: tuple[tuple[str, str, str, str], ...] = ()   # (tx, recipient, rtype, type)


async def apply_movements(conn: asyncpg.Connection, brand_code: int,
                          movements: Iterable[Movement], channel: Channel) -> Applied:
    """Store each movement once and apply the new ones to the mirror; call it inside the
    caller's transaction (the store and the mirror change together or not at all)."""
    items = list(movements)
    if not items:
        return Applied()
    cols: list[list[Any]] = [[] for _ in range(9)]
    for m in items:
        for i, value in enumerate((m.transaction_id, m.recipient, m.recipient_type, m.type,
                                   m.status, m.source, m.consent_text, m.creation_text,
                                   json.dumps(dict(m.raw), ensure_ascii=False, default=str))):
            cols[i].append(value)
    stored = await conn.fetch(SQL.insert_movements, brand_code, *cols, channel)
    if not stored:
        return Applied()
    fresh = {(r["transaction_id"], r["recipient"], r["type"]): bool(r["ours"]) for r in stored}
    newest: dict[tuple[str, str, str], tuple[Movement, bool]] = {}
    for m in items:
        ours = fresh.get((m.transaction_id, m.recipient, m.type))
        if ours is None:
            continue
        held = newest.get(m.key)
        if held is None or m.order >= held[0].order:
            newest[m.key] = (m, ours)
    origin = ORIGIN_OF[channel]
    rows = [(m.recipient, m.recipient_type, m.type, m.status, m.consent_date, m.source,
             "push" if ours else origin, m.transaction_id, m.creation_date)
            for m, ours in newest.values()]
    changed = await conn.fetch(SQL.apply_to_mirror, brand_code,
                               *[list(c) for c in zip(*rows, strict=True)])
    return Applied(new=len(stored), ours=sum(1 for r in stored if r["ours"]),
                   changed=len(changed),
                   new_keys=tuple((r["transaction_id"], r["recipient"], r["recipient_type"],
                                   r["type"]) for r in stored))


async def seed_state(conn: asyncpg.Connection | asyncpg.Pool, brand_code: int,
                     recipient_type: str, type_: str, onay: set[str],
                     recipients: list[str]) -> int:
    """A seeding run's batch status answer into the mirror (ONAY for the listed, RET for the
    rest: no record and RET alike mean "may not be messaged"); returns rows changed."""
    statuses = ["ONAY" if r in onay else "RET" for r in recipients]
    rows = await conn.fetch(SQL.seed_state, brand_code, recipients, recipient_type, type_,
                            statuses)
    return len(rows)

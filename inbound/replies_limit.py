"""Which confirmation replies to send: a change is always confirmed, a repeat is not, and no
recipient gets more than a few replies an hour (an auto-responder must not start a loop).

Pure: the pipeline reads the recipients' recent replies (with the batch's ids,
``prepare_mo_batch``) and asks :func:`choose` which of a batch's candidate replies to write
(``write_mo_batch`` writes them with the batch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbound.rows import ReplyRow as Reply  # a candidate reply is the row it is written as

LOOP_WINDOW = timedelta(hours=1)  # the per-recipient cap counts replies within this


@dataclass(frozen=True)
class Sent:
    """A reply already written (this batch's or an earlier one's)."""

    recipient: str
    number: str
    kind: str
    at: datetime


def kind_of(brand_id: str | None, outcome: str, status: str | None) -> str:
    """What a reply confirms: a brand's status, or a non-consent outcome."""
    if outcome == "consent" and brand_id is not None:
        return f"{brand_id}:{status or ''}"
    return f"{outcome}:"


def _subject(kind: str) -> str:
    return kind.rpartition(":")[0]


def choose(candidates: Iterable[Reply], recent: Iterable[Sent], *, now: datetime,
           interval: timedelta, per_hour: int) -> list[Reply]:
    """The candidates to send, in order.

    - A reply whose subject (brand, or outcome) last got a reply of the same kind on the same
      number within ``interval`` is a repeat: not sent.
    - A change (RET after an ONAY confirmation, or back) is sent whatever the interval.
    - Whatever the kind, a recipient gets at most ``per_hour`` replies in the last hour.
    """
    history = sorted(recent, key=lambda s: s.at)
    chosen = []
    for reply in candidates:
        mine = [s for s in history if s.recipient == reply.recipient]
        if sum(1 for s in mine if s.at > now - LOOP_WINDOW) >= per_hour:
            continue
        same_subject = [s for s in mine if s.number == reply.number
                        and _subject(s.kind) == _subject(reply.kind)]
        last = same_subject[-1] if same_subject else None
        if last is not None and last.kind == reply.kind and last.at > now - interval:
            continue
        chosen.append(reply)
        history.append(Sent(reply.recipient, reply.number, reply.kind, now))
    return chosen

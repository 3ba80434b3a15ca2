"""Redeliveries and repeats: is an identical PDU the SMSC sending it again, or a person
sending the same words again?

Identical means the same ``pdu_digest`` (the PDU with its sequence number zeroed) on the
same link. The rule (README, "Redeliveries and repeats"; why: docs/DESIGN-NOTES.md):

1. A copy can be a redelivery only when the SMSC could be resending the earlier copy, i.e.
   when that copy's answer may not have reached it: the session that received it is not
   the session of the new copy (it ended), or its answer was written later than the SMSC's
   response window (``smsc_response_window``) after its receipt, or it was answered with
   an error although its commit went through (:class:`Refused`). Only the latest copy
   within ``redelivery_window`` counts (the database lookup: "o" in insert_new_mo_batch,
   inbound/sql/inbound.sql).
   Otherwise the new copy is a repeat: a message of its own.
2. Where it could be a redelivery, it is one (stored with ``redelivery_of``, nothing else)
   except for the recipient's protection: a RET is kept as a new message when another event
   for the same recipient and brand came in after the earlier copy (so an opt-out is never
   lost to an ONAY in between). A repeated ONAY stays a redelivery, so an ONAY that would
   undo a later RET is never applied from an ambiguous copy.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from inbound.rows import EventRow

if TYPE_CHECKING:
    from inbound.writer import EarlierCopy

@dataclass(frozen=True, slots=True)
class Copy:
    """The latest earlier copy of a PDU."""

    original_id: int                # the first copy: what a redelivery points at
    session: int | None             # the session that received it (None: before 0011)
    received_at: datetime
    answered_after: float | None    # seconds from receipt to its stored row; None: not yet
    event_since: bool               # an event for its key came in after it (database)
    events_before: int = 0          # for a copy in this batch: the batch's events before it


@dataclass(frozen=True, slots=True)
class Arrival:
    """When and on which session the new copy came."""

    session: int
    received_at: datetime


OptOutKeys = Callable[[], frozenset[tuple[str, str]]]  # (recipient, brand) of its RETs


class Copies:
    """The latest copy of each digest: those the lookup found, then the batch's own rows as
    the batch is built (a PDU repeated inside one batch)."""

    def __init__(self, found: Iterable[EarlierCopy], response_window: float,
                 refused: Collection[bytes] = ()) -> None:
        self.response_window = response_window
        self.refused = refused  # digests answered with an error on this link (Refused)
        self._latest: dict[bytes, Copy] = {
            c.digest: Copy(c.original_id, c.session_id, c.received_at, c.answered_after,
                           c.event_since)
            for c in found
        }

    def redelivery_of(self, digest: bytes, new: Arrival, opt_out_keys: OptOutKeys,
                      batch_events: Sequence[EventRow]) -> int | None:
        """The original the new copy is a redelivery of; None when it is a message.
        ``opt_out_keys`` is asked only for a copy that could be a redelivery (rare)."""
        copy = self._latest.get(digest)
        if copy is None or not (self.could_be_resent(copy, new) or digest in self.refused):
            return None
        keys = opt_out_keys()
        if keys and _event_since(copy, keys, batch_events):
            return None  # a repeated RET after another event for its key: never dropped
        return copy.original_id

    def could_be_resent(self, copy: Copy, new: Arrival) -> bool:
        """Whether the earlier copy's answer may not have reached the SMSC."""
        if copy.session != new.session:
            return True  # its session ended, perhaps before the answer went out
        if copy.answered_after is None:  # in this batch, not answered yet
            waited = (new.received_at - copy.received_at).total_seconds()
            return waited > self.response_window
        return copy.answered_after > self.response_window

    def saw(self, digest: bytes, sms_in_id: int, redelivery_of: int | None, new: Arrival,
            events_before: int) -> None:
        """The batch's row for ``digest`` is now its latest copy."""
        self._latest[digest] = Copy(redelivery_of or sms_in_id, new.session, new.received_at,
                                    None, False, events_before)


class Refused:
    """The digests of PDUs answered with an error, per link (the last ``keep`` of them).

    A batch whose store raised is answered ``ESME_RX_T_APPN``, and the SMSC sends its PDUs
    again, on the same session. Usually nothing was stored; but when the connection to
    PostgreSQL broke after the commit and before its result came back, the rows exist, were
    answered in time, and the copy would look like a person's repeat. Kept in memory: after
    a restart the copies come on a new session, which the rule covers anyway.
    """

    def __init__(self, keep: int = 100_000) -> None:
        self.keep = keep
        self._by_link: dict[str, dict[bytes, None]] = {}  # an ordered set, oldest first

    def remember(self, link: str, digests: Iterable[bytes]) -> None:
        seen = self._by_link.setdefault(link, {})
        for digest in digests:
            seen.pop(digest, None)
            seen[digest] = None
        while len(seen) > self.keep:
            del seen[next(iter(seen))]

    def of(self, link: str) -> Collection[bytes]:
        return self._by_link.get(link, {}).keys()


def _event_since(copy: Copy, keys: frozenset[tuple[str, str]],
                 batch_events: Sequence[EventRow]) -> bool:
    """An event for one of ``keys`` after the copy: in the database, or earlier in the batch."""
    if copy.event_since:
        return True
    return any((event.recipient, event.brand_id) in keys
               for event in batch_events[copy.events_before:])

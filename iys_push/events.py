"""The consent event as the push side reads it from the outbox (claim, batch results)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedEvent:
    """A row of the claim statement (``claim``, iys_push/sql/iys_push.sql: its columns, in
    order; tests/iys_push/test_pusher.py checks them) or of a batch's events
    (``batch_events``, which lacks the view columns and adds ``batch_index``)."""

    id: int
    brand_id: str
    iys_code: int | None = None          # (not in batch_events)
    brand_code: int
    recipient: str
    recipient_type: str
    type: str
    status: str
    source: str
    received_at: datetime
    consent_date: datetime
    deadline_at: datetime
    attempts: int
    # our view of the key in İYS when it was claimed (iys_key_state), if any
    view_status: str | None = None
    view_date: datetime | None = None
    view_origin: str | None = None
    superseded: bool = False               # a later event of the key was accepted already
    # (received_at epoch, id) of the latest earlier pending or accepted event of the key
    # with the same status, and with the other one (retry.before_sending)
    same_before: list[Any] | None = None
    other_before: list[Any] | None = None
    batch_index: int | None = None         # its place in its İYS batch request

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> ClaimedEvent:
        """From a statement's row: the columns it has, by name."""
        present = set(row.keys())  # (`in` on an asyncpg Record looks at the values)
        return cls(**{name: row[name] for name in _NAMES if name in present})


_NAMES = tuple(f.name for f in fields(ClaimedEvent))

"""The rows an MO batch writes, as the batch statements take them.

Each class's fields are the attributes of the composite type its rows are sent as, in order
(migrations/0009, 0011, 0012, 0038; tests/test_migrations.py checks that they agree): asyncpg
sends a tuple as a record by position, so a field added here and not there, or in another
place, would shift every later value into the wrong column.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class SmsInRow(NamedTuple):
    """A received PDU (``sms_in``; type ``mo_batch_sms_in``). Negative ids are placeholders
    for ids the statement allocates (see write_mo_batch)."""

    id: int
    received_at: datetime
    command: str
    sequence: int
    pdu: bytes
    pdu_digest: bytes
    fields: str                      # JSON text, cast to jsonb on insert
    source_addr: str | None
    sender: str | None
    destination_addr: str | None
    kind: str
    data_coding: int | None
    encoding: str | None
    text: str | None
    redelivery_of: int | None
    message_id: int | None
    session_id: int


class MessageRow(NamedTuple):
    """A logical message and its keyword outcome (``mo_message``; ``mo_batch_message``)."""

    id: int
    received_at: datetime
    completed_at: datetime
    sender: str | None
    source_addr: str | None
    destination_addr: str | None
    text: str | None
    normalized: str | None
    outcome: str
    reason: str | None


class EventRow(NamedTuple):
    """A consent event for the İYS outbox (``consent_event``; ``mo_batch_event``)."""

    message_id: int
    brand_id: str
    iys_code: int
    brand_code: int
    recipient: str
    recipient_type: str
    type: str
    status: str
    source: str
    received_at: datetime
    deadline_at: datetime
    state: str


class PartRow(NamedTuple):
    """A concatenation part kept in ``sms_part`` (``mo_batch_part``, migrations/0038): waiting
    for the rest of its message, or already given the message its batch completes."""

    sms_in_id: int
    concat_key: str
    part_no: int
    total: int
    payload: bytes
    data_coding: int
    locking_shift: int | None
    single_shift: int | None
    received_at: datetime
    message_id: int | None


class ReplyRow(NamedTuple):
    """A confirmation reply to send (``sms_out``; ``mo_batch_reply``, migrations/0038)."""

    message_id: int
    recipient: str
    number: str             # the number the recipient wrote to: the reply's source address
    text: str
    kind: str


# the composite type each row class is sent as
ROW_TYPES: dict[str, type[tuple[object, ...]]] = {
    "mo_batch_sms_in": SmsInRow,
    "mo_batch_message": MessageRow,
    "mo_batch_event": EventRow,
    "mo_batch_part": PartRow,
    "mo_batch_reply": ReplyRow,
}

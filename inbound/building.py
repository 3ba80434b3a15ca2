"""From received PDUs to a batch's rows: decoding, keyword decisions, events and replies.

Pure Python, no database: :class:`BatchBuilder` turns each PDU into its ``sms_in`` row and,
for a message, its ``mo_message`` row, consent events and reply (inbound/rows.py). Which
PDUs are redeliveries is decided from the earlier copies the writer found
(:mod:`inbound.redelivery`). Concatenated parts are left to :mod:`inbound.concat`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from inbound import replies_limit
from inbound.redelivery import Arrival, Copies, Refused
from inbound.rows import EventRow, MessageRow, SmsInRow
from inbound.writer import BatchRows, EarlierCopy
from iys_push import calendar
from keywords import Decision, RuleSet, match, render_reply
from smpp_bind import pdu
from smpp_bind.addresses import mask_msisdn, normalise_destination, normalise_sender
from smpp_bind.message import Message, decode_message
from smpp_bind.session import Received

log = structlog.get_logger(__name__)

SOURCE_SMS = "HS_MESAJ"  # İYS source for consent given by SMS to the provider's short number
# The state a decision's events are stored in: a command goes to İYS (the pusher claims
# 'pending'); a near miss ("iptal etmek istiyorum") waits for a person in the review queue
# (inbound/reviews.py) as the RETs a confirmation would create.
EVENT_STATES = {"consent": "pending", "needs_review": "review"}


def pdu_digest(raw: bytes) -> bytes:
    """SHA-256 of the PDU with its sequence number zeroed: a redelivery has a new sequence."""
    return hashlib.sha256(raw[:12] + b"\x00\x00\x00\x00" + raw[16:]).digest()


def placeholders(count: int) -> range:
    """The new sms_in ids of a batch written by one statement: -1, -2, … (write_mo_batch)."""
    return range(-1, -count - 1, -1)


@dataclass
class PduRow:
    """One PDU on its way into the database."""

    item: Received
    digest: bytes
    message: Message | None = None
    sender: str | None = None
    destination: str | None = None
    kind: str = "malformed"
    redelivery_of: int | None = None
    sms_in_id: int = 0
    message_id: int | None = None

    @property
    def is_part(self) -> bool:
        return self.message is not None and self.kind == "mo" and self.message.concat is not None


@dataclass
class Batch(BatchRows):
    """A batch's rows and what the pipeline reports once it is committed."""

    replies: list[replies_limit.Reply] = field(default_factory=list)
    outcomes: list[tuple[str, str]] = field(default_factory=list)   # number, outcome
    created: list[tuple[str, str]] = field(default_factory=list)    # brand, status of events
    redeliveries: int = 0


class BatchBuilder:
    """Rows for the PDUs of a batch. ``rules`` is replaced whole when the configuration
    changes."""

    def __init__(self, rules: RuleSet, *, gsm_as_latin1: dict[str, bool],
                 smsc_response_window: dict[str, float], reply_links: frozenset[str]) -> None:
        self.rules = rules
        self.gsm_as_latin1 = gsm_as_latin1
        self.smsc_response_window = smsc_response_window  # per link, seconds
        self.reply_links = reply_links      # links able to send (transceiver, replies on)
        self.refused = Refused()  # PDUs answered with an error: the SMSC sends them again
        self._decisions: dict[tuple[str, str], Decision] = {}
        self._decisions_for: RuleSet | None = None

    # -- decoding ----------------------------------------------------------------------
    def decode(self, link: str, item: Received) -> PduRow:
        row = PduRow(item, pdu_digest(item.raw))
        d = item.deliver
        if d is None:
            return row
        row.message = decode_message(d, gsm_as_latin1=self.gsm_as_latin1.get(link, False))
        row.kind = row.message.kind
        row.sender = normalise_sender(d.source_addr, d.source_addr_ton, d.source_addr_npi)
        row.destination = normalise_destination(d.destination_addr)
        return row

    def build(self, rows: list[PduRow], found: Sequence[EarlierCopy], sms_in_ids: Iterable[int],
              message_ids: Iterator[int], out: Batch) -> list[PduRow]:
        """Redeliveries, messages, events and replies of the batch into ``out``; returns the
        concatenated parts still to be placed (inbound.concat). The PDUs' own rows come
        after those: :meth:`sms_in_rows`."""
        copies = Copies(found, self.smsc_response_window.get(out.link, 30.0),
                        self.refused.of(out.link))
        parts: list[PduRow] = []
        for row, sms_in_id in zip(rows, sms_in_ids, strict=True):
            row.sms_in_id = sms_in_id
            row.message_id = None
            arrival = Arrival(row.item.session, row.item.received_at)
            row.redelivery_of = copies.redelivery_of(
                row.digest, arrival, lambda row=row: self._opt_out_keys(row), out.events)
            copies.saw(row.digest, sms_in_id, row.redelivery_of, arrival, len(out.events))
            if row.redelivery_of is not None:
                out.redeliveries += 1
                continue
            if row.is_part:
                parts.append(row)
            elif row.kind in ("mo", "malformed"):
                row.message_id = next(message_ids)
                self._single_message(row, out)
        return parts

    def sms_in_rows(self, rows: Iterable[PduRow]) -> list[SmsInRow]:
        """The PDUs' rows, once every message id is known (a part's is its message's, when
        the batch completes it)."""
        return [self._sms_in_row(row) for row in rows]

    def _opt_out_keys(self, row: PduRow) -> frozenset[tuple[str, str]]:
        """(recipient, brand) of each RET this PDU makes on its own (inbound.redelivery)."""
        if row.message is None or row.kind != "mo" or row.is_part or row.sender is None:
            return frozenset()
        decision, outcome = self.decide(row, row.message.text)
        if outcome != "consent":
            return frozenset()
        return frozenset((row.sender, spec.brand_id) for spec in decision.events
                         if spec.status == "RET")

    def _sms_in_row(self, row: PduRow) -> SmsInRow:
        item, d, m = row.item, row.item.deliver, row.message
        command = {pdu.DELIVER_SM: "deliver_sm", pdu.DATA_SM: "data_sm"}.get(
            item.command_id, "malformed") if d is not None else "malformed"
        fields = d.fields_json() if d is not None else json.dumps({"error": item.error})
        return SmsInRow(
            row.sms_in_id, item.received_at, command, item.sequence, item.raw, row.digest,
            fields, d.source_addr if d else None, row.sender, row.destination, row.kind,
            d.data_coding if d else None, m.encoding if m else None, m.text if m else None,
            row.redelivery_of, row.message_id, row.item.session,
        )

    # -- outcomes ----------------------------------------------------------------------
    def _single_message(self, row: PduRow, out: Batch) -> None:
        m = row.message
        if m is None:
            decision = Decision.not_text(f"malformed PDU: {row.item.error}")
            outcome = "malformed"
            text = None
        else:
            text = m.text
            decision, outcome = self.decide(row, text)
        self.record_message(row, out, text, decision, outcome, row.item.received_at,
                            row.item.received_at)

    def decide(self, row: PduRow, text: str | None) -> tuple[Decision, str]:
        if text is None:
            decision = Decision.not_text("the message is binary or could not be decoded")
            return decision, decision.outcome
        decision = self._match(text, row.destination or "")
        if decision.outcome in EVENT_STATES and row.sender is None:
            return decision, "invalid_sender"
        return decision, decision.outcome

    def _match(self, text: str, destination: str) -> Decision:
        """``keywords.match``, remembered per rules object: a campaign's thousands of
        ``RET ACME`` are one decision (Decision is frozen, match is pure)."""
        if self._decisions_for is not self.rules:
            self._decisions = {}
            self._decisions_for = self.rules
        key = (text, destination)
        decision = self._decisions.get(key)
        if decision is None:
            if len(self._decisions) >= 10_000:
                self._decisions.clear()
            decision = self._decisions[key] = match(text, destination, self.rules)
        return decision

    def record_message(self, row: PduRow, out: Batch, text: str | None, decision: Decision,
                       outcome: str, received_at: datetime, completed_at: datetime) -> None:
        d = row.item.deliver
        reason = decision.reason
        if outcome == "invalid_sender":
            reason = "the sender is not a valid mobile number; nothing is sent to İYS"
        assert row.message_id is not None
        out.messages.append(MessageRow(
            row.message_id, received_at, completed_at, row.sender,
            d.source_addr if d else None, row.destination, text, decision.normalized, outcome,
            reason,
        ))
        out.outcomes.append((self._number_label(row.destination), outcome))
        if log.is_enabled_for(logging.DEBUG):  # the masking costs, per message, for nothing
            log.debug("mo message", link=out.link, sender=mask_msisdn(row.sender or ""),
                      number=row.destination, outcome=outcome)
        if outcome in EVENT_STATES and row.sender is not None:
            out.events.extend(self._events(row, decision, received_at, out,
                                           EVENT_STATES[outcome]))
        if row.sender is not None and out.link in self.reply_links and row.destination:
            self._reply(row, out, decision, outcome)

    def _reply(self, row: PduRow, out: Batch, decision: Decision, outcome: str) -> None:
        first = decision.events[0] if decision.events else None
        text = render_reply(self.rules, first.brand_id if first else None, outcome,
                            first.status if first else None, number=row.destination)
        if text and row.message_id is not None and row.sender and row.destination:
            kind = replies_limit.kind_of(first.brand_id if first else None, outcome,
                                         first.status if first else None)
            out.replies.append(replies_limit.Reply(row.message_id, row.sender, row.destination,
                                                   text, kind))

    def _events(self, row: PduRow, decision: Decision, received_at: datetime, out: Batch,
                state: str) -> Iterable[EventRow]:
        """The decision's consent_event rows. A review item gets the deadline a RET received
        now would have: confirmed, it is that RET, with this receipt time as its consent
        date."""
        deadline = calendar.deadline_for(received_at)
        assert row.message_id is not None and row.sender is not None
        for spec in decision.events:
            brand = self.rules.brand(spec.brand_id)
            for iys_type in spec.types:
                if state == "pending":  # review items are counted by the review gauges
                    out.created.append((spec.brand_id, spec.status))
                yield EventRow(
                    row.message_id, spec.brand_id, brand.iys_code, brand.brand_code, row.sender,
                    spec.recipient_type, iys_type, spec.status, SOURCE_SMS, received_at,
                    deadline, state,
                )

    def _number_label(self, destination: str | None) -> str:
        # bounded label: configured numbers by name, everything else as "other"
        if destination and self.rules.number_for(destination) is not None:
            return destination
        return "other"

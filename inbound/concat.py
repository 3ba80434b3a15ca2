"""Concatenated messages: parts wait in ``sms_part`` until the last one arrives (or a timeout
makes them an ``incomplete`` message), then become one ``mo_message`` with its decision.

Pure, no database: the writer read the parts still waiting for a batch's keys before the
batch was built (:meth:`inbound.writer.BatchWriter.prepare`), and :func:`place_parts` adds
the batch's parts to them as if they came one by one. Each message they complete gets the
next of the batch's message ids; into the batch go its parts to keep (waiting, or already
given the message they complete), the earlier parts each completed message claims, and the
messages with their decisions. ``write_mo_batch`` then writes it all in one statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from inbound import metrics
from inbound.building import Batch, BatchBuilder, PduRow
from inbound.rows import PartRow
from inbound.writer import ClaimedPart
from keywords import Decision
from smpp_bind.message import decode_text


def concat_key(row: PduRow) -> str:
    """The parts of one message share it: scheme, sender, number, reference and total."""
    m, d = row.message, row.item.deliver
    assert m is not None and m.concat is not None and d is not None
    return ":".join((m.concat.scheme, d.source_addr, row.destination or "",
                     str(m.concat.reference), str(m.concat.total)))


@dataclass
class _Held:
    """A part of a message being assembled: an earlier batch's (``row`` None) or this one's."""

    part: PartRow
    row: PduRow | None


def place_parts(builder: BatchBuilder, link: str, rows: list[PduRow],
                waiting: dict[str, list[PartRow]], message_ids: Iterator[int],
                out: Batch) -> None:
    """Add a batch's parts (``rows``, in arrival order) to the parts ``waiting`` for their
    keys; each message they complete becomes its message and decision in ``out``.

    A position already waiting keeps its first part: a second copy stays in ``sms_in`` only.
    A round holds each (key, position) at most once, so a batch behaves as if its parts were
    stored one by one: a position seen again (a new message reusing its reference after the
    first completed) waits for the next round, after the first message has been assembled.
    """
    held = {key: {p.part_no: _Held(p, None) for p in parts} for key, parts in waiting.items()}
    kept: dict[int, PartRow] = {}   # this batch's parts to keep, by sms_in id, in order
    for chunk in _rounds(rows):
        keys = [concat_key(row) for row in chunk]
        for key, row in zip(keys, chunk, strict=True):
            part = _part(key, row)
            positions = held.setdefault(key, {})
            if part.part_no not in positions:
                positions[part.part_no] = _Held(part, row)
                kept[row.sms_in_id] = part
        # the row completing a message is its key's last in the round: messages come in
        # the order of the PDUs that complete them, as if stored one by one
        last = {key: (i, row) for i, (key, row) in enumerate(zip(keys, chunk, strict=True))}
        for key, (_, row) in sorted(last.items(), key=lambda item: item[1][0]):
            if len(held[key]) < _total(row):
                continue
            parts = [held[key][no] for no in sorted(held[key])]
            del held[key]
            message_id = next(message_ids)
            for h in parts:
                if h.row is None:
                    out.claimed.append(ClaimedPart(h.part.sms_in_id, message_id))
                else:
                    h.row.message_id = message_id
                    kept[h.part.sms_in_id] = kept[h.part.sms_in_id]._replace(
                        message_id=message_id)
            completing_is_a_copy = all(h.row is not row for h in parts)
            row.message_id = message_id
            _record(builder, link, row, [h.part for h in parts], out, complete=True)
            if completing_is_a_copy:  # its PDU stays unlinked, as every second copy
                row.message_id = None
    out.parts.extend(kept.values())


def _total(row: PduRow) -> int:
    m = row.message
    assert m is not None and m.concat is not None
    return m.concat.total


def _rounds(rows: list[PduRow]) -> list[list[PduRow]]:
    """``rows`` in order, cut where a (key, position) comes again."""
    rounds: list[list[PduRow]] = [[]]
    seen: set[tuple[str, int]] = set()
    for row in rows:
        m = row.message
        assert m is not None and m.concat is not None
        position = (concat_key(row), m.concat.sequence)
        if position in seen:
            rounds.append([])
            seen.clear()
        seen.add(position)
        rounds[-1].append(row)
    return [r for r in rounds if r]


def _part(key: str, row: PduRow) -> PartRow:
    """A part of this batch, waiting (its message id is given if the batch completes it)."""
    m = row.message
    assert m is not None and m.concat is not None
    return PartRow(row.sms_in_id, key, m.concat.sequence, m.concat.total, m.payload,
                   m.data_coding, m.locking_shift, m.single_shift, row.item.received_at, None)


def record_incomplete(builder: BatchBuilder, link: str, row: PduRow, parts: list[PartRow],
                      message_id: int, out: Batch) -> None:
    """The message of the parts that came before the timeout (``row``: the first one's PDU),
    claiming them."""
    row.message_id = message_id
    out.claimed.extend(ClaimedPart(p.sms_in_id, message_id) for p in parts)
    _record(builder, link, row, parts, out, complete=False)


def _record(builder: BatchBuilder, link: str, row: PduRow, parts: list[PartRow],
            out: Batch, *, complete: bool) -> None:
    """The assembled message (``row.message_id`` given) with its decision into ``out``."""
    first = parts[0]
    text = decode_text(
        b"".join(p.payload for p in parts), first.data_coding,
        locking_shift=first.locking_shift, single_shift=first.single_shift,
        gsm_as_latin1=builder.gsm_as_latin1.get(link, False),
    )
    received_at: datetime = min(p.received_at for p in parts)
    completed_at: datetime = max(p.received_at for p in parts)
    if complete:
        decision, outcome = builder.decide(row, text)
    else:
        have = ", ".join(str(p.part_no) for p in parts)
        decision = Decision.not_text(
            f"only parts {have} of {first.total} arrived before the timeout")
        outcome = "incomplete"
        metrics.INCOMPLETE.labels(link).inc()
    builder.record_message(row, out, text, decision, outcome, received_at, completed_at)

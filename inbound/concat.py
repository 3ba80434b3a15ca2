"""Concatenated messages: parts wait in ``sms_part`` until the last one arrives (or a timeout
makes them an ``incomplete`` message), then become one ``mo_message`` with its decision.

Runs inside a batch's transaction (:class:`inbound.writer.BatchTransaction`): the parts' PDU
rows are written first, then the batch's parts together, the waiting parts of their keys
are read back together, and each message they complete gets a real id, given to every part
and PDU of it (three statements for the whole batch, not two or four per part).
"""

from __future__ import annotations

from datetime import datetime

from inbound import metrics
from inbound.building import Batch, BatchBuilder, PduRow
from inbound.writer import BatchTransaction, NewPart, StoredPart
from keywords import Decision
from smpp_bind.message import decode_text


def concat_key(row: PduRow) -> str:
    """The parts of one message share it: scheme, sender, number, reference and total."""
    m, d = row.message, row.item.deliver
    assert m is not None and m.concat is not None and d is not None
    return ":".join((m.concat.scheme, d.source_addr, row.destination or "",
                     str(m.concat.reference), str(m.concat.total)))


async def store_parts(tx: BatchTransaction, builder: BatchBuilder, link: str,
                      rows: list[PduRow], out: Batch) -> None:
    """Keep a batch's parts; each message they complete becomes its message and decision.

    A few statements per batch, not two per part: the parts are written together, the
    waiting parts of their keys read back together. A round holds each (key, position) at
    most once, so a batch behaves as if its parts were stored one by one: a position seen
    again (a new message reusing its reference after the first completed) waits for the
    next round, after the first message has been assembled.
    """
    for chunk in _rounds(rows):
        keys = [concat_key(row) for row in chunk]
        await tx.add_parts(link, [_new_part(key, row) for key, row in zip(keys, chunk,
                                                                          strict=True)])
        pending = await tx.pending_parts_of(link, sorted(set(keys)))
        # the row completing a message is its key's last in the round: messages come in
        # the order of the PDUs that complete them, as if stored one by one
        last = {key: (i, row) for i, (key, row) in enumerate(zip(keys, chunk, strict=True))}
        complete = [(key, row) for key, (_, row) in sorted(last.items(), key=lambda x: x[1][0])
                    if len({p.part_no for p in pending[key]}) >= _total(row)]
        if not complete:
            continue
        ids = await tx.assemble_parts(link, [key for key, _ in complete])
        for (key, row), message_id in zip(complete, ids, strict=True):
            row.message_id = message_id
            _record(builder, link, row, pending[key], out, complete=True)


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


def _new_part(key: str, row: PduRow) -> NewPart:
    m = row.message
    assert m is not None and m.concat is not None and row.sms_in_id is not None
    return NewPart(row.sms_in_id, key, m.concat.sequence, m.concat.total, m.payload,
                   m.data_coding, m.locking_shift, m.single_shift, row.item.received_at)


async def assemble(tx: BatchTransaction, builder: BatchBuilder, link: str, key: str,
                   row: PduRow, parts: list[StoredPart], out: Batch, *,
                   complete: bool) -> None:
    """The message of ``parts`` (all of them, or those that came before the timeout)."""
    [row.message_id] = await tx.assemble_parts(link, [key])
    _record(builder, link, row, parts, out, complete=complete)


def _record(builder: BatchBuilder, link: str, row: PduRow, parts: list[StoredPart],
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

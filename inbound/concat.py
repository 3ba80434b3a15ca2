"""Concatenated messages: parts wait in ``sms_part`` until the last one arrives (or a timeout
makes them an ``incomplete`` message), then become one ``mo_message`` with its decision.

Runs inside a batch's transaction (:class:`inbound.writer.BatchTransaction`): the part's
PDU row is written first, the parts of its key are read back, and the message gets a real
id, given to every part and PDU of it.
"""

from __future__ import annotations

from datetime import datetime

from inbound import metrics
from inbound.building import Batch, BatchBuilder, PduRow
from inbound.writer import BatchTransaction, StoredPart
from keywords import Decision
from smpp_bind.message import decode_text


def concat_key(row: PduRow) -> str:
    """The parts of one message share it: scheme, sender, number, reference and total."""
    m, d = row.message, row.item.deliver
    assert m is not None and m.concat is not None and d is not None
    return ":".join((m.concat.scheme, d.source_addr, row.destination or "",
                     str(m.concat.reference), str(m.concat.total)))


async def store_part(tx: BatchTransaction, builder: BatchBuilder, link: str, row: PduRow,
                     out: Batch) -> None:
    """Keep the part; when it completes its message, the message and its decision."""
    m = row.message
    assert m is not None and m.concat is not None
    key = concat_key(row)
    await tx.add_part(link, key, m.concat.sequence, m.concat.total, m.payload, m.data_coding,
                      m.locking_shift, m.single_shift, row.sms_in_id, row.item.received_at)
    parts = await tx.pending_parts(link, key)
    if len({p.part_no for p in parts}) < m.concat.total:
        return
    await assemble(tx, builder, link, key, row, parts, out, complete=True)


async def assemble(tx: BatchTransaction, builder: BatchBuilder, link: str, key: str,
                   row: PduRow, parts: list[StoredPart], out: Batch, *,
                   complete: bool) -> None:
    """The message of ``parts`` (all of them, or those that came before the timeout)."""
    first = parts[0]
    text = decode_text(
        b"".join(p.payload for p in parts), first.data_coding,
        locking_shift=first.locking_shift, single_shift=first.single_shift,
        gsm_as_latin1=builder.gsm_as_latin1.get(link, False),
    )
    received_at: datetime = min(p.received_at for p in parts)
    completed_at: datetime = max(p.received_at for p in parts)
    row.message_id = await tx.assemble_parts(link, key)
    if complete:
        decision, outcome = builder.decide(row, text)
    else:
        have = ", ".join(str(p.part_no) for p in parts)
        decision = Decision.not_text(
            f"only parts {have} of {first.total} arrived before the timeout")
        outcome = "incomplete"
        metrics.INCOMPLETE.labels(link).inc()
    builder.record_message(row, out, text, decision, outcome, received_at, completed_at)

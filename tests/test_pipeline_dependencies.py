"""Which batches of one link wait for each other (inbound.pipeline._after_dependencies), and a
batch's concatenated parts placed together (inbound.concat.place_parts), and a batch with
parts or replies in two statements."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import asyncpg
import pytest

from inbound.pipeline import Pipeline
from inbound.writer import AsyncpgWriter, BatchNotStored, BatchRows, Prepared
from tests.pdus import deliver_pdu, gsm7_unpacked, ie_concat8, udh
from tests.pipelines import received, warm
from tests.waiting import wait_until

ALICE, BOB = "905321234567", "905329876543"


class StepWriter(AsyncpgWriter):
    """The writer, noting the statements of batches with parts or replies. ``hold``: the
    first such batch waits before its first statement until ``release`` is set;
    ``meanwhile``: run once between a batch's two statements."""

    def __init__(self, pool: asyncpg.Pool, *, hold: bool = False) -> None:
        super().__init__(pool)
        self.hold = hold
        self.release = asyncio.Event()
        self.meanwhile: Callable[[], Awaitable[object]] | None = None
        self.statements: list[str] = []

    @property
    def entered(self) -> int:
        return self.statements.count("prepare")

    async def prepare(self, link: str, digests: Sequence[bytes], since: datetime,
                      sms_in_count: int, message_count: int, recipients: Sequence[str],
                      replies_since: datetime, concat_keys: Sequence[str]) -> Prepared:
        self.statements.append("prepare")
        if self.hold and self.entered == 1:
            await self.release.wait()
        prepared = await super().prepare(link, digests, since, sms_in_count, message_count,
                                         recipients, replies_since, concat_keys)
        if self.meanwhile is not None and digests:
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        return prepared

    async def write(self, rows: BatchRows) -> None:
        self.statements.append("write")
        await super().write(rows)


async def hold_first(pipeline: Pipeline, pool: asyncpg.Pool, link: str,
                     pdu: bytes) -> tuple[StepWriter, asyncio.Task[None]]:
    """A first batch (``pdu``) started and held before its first statement."""
    await warm(pool)
    gated = StepWriter(pool, hold=True)
    pipeline.writer = gated
    first = asyncio.create_task(pipeline.accept(link, [received(pdu)]))
    await wait_until(lambda: _count(gated.entered), what="the first batch in the writer")
    return gated, first


async def _count(value: int | bool) -> int | bool:
    return value


def part(sequence: int, source: str, reference: int, total: int, no: int, text: str) -> bytes:
    return deliver_pdu(sequence, udh(ie_concat8(reference, total, no)) + gsm7_unpacked(text),
                       source=source, esm_class=0x40)


async def test_on_a_reply_link_another_senders_batch_is_stored_meanwhile(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """Only a batch of the same sender can change which replies this one may send: a batch
    of another sender does not wait (it used to wait for every earlier batch of the link,
    which made a transceiver link ~3× slower than a receiver)."""
    gated, first = await hold_first(pipeline, pool, "l1", deliver_pdu(1, b"RET ACME", source=ALICE))
    second = asyncio.create_task(pipeline.accept(
        "l1", [received(deliver_pdu(2, b"RET ACME", source=BOB))]))
    # committed while the first is still held
    await wait_until(lambda: _count(second.done()), what="the second batch committed")
    await second
    assert not first.done()
    gated.release.set()
    await first
    assert await pool.fetchval("SELECT count(*) FROM sms_out") == 2  # one to each


async def test_on_a_reply_link_the_same_senders_batch_waits_and_gets_no_second_reply(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    gated, first = await hold_first(pipeline, pool, "l1", deliver_pdu(1, b"RET ACME", source=ALICE))
    second = asyncio.create_task(pipeline.accept(
        "l1", [received(deliver_pdu(2, b"ret acme", source=ALICE))]))
    await wait_until(lambda: _count(len(pipeline._inflight["l1"]) == 2),
                     what="the second batch registered")
    assert gated.entered == 1  # it waits before the writer
    gated.release.set()
    await asyncio.gather(first, second)
    assert gated.entered == 2
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 2
    assert await pool.fetchval("SELECT count(*) FROM sms_out") == 1  # a repeat: no reply


async def test_parts_of_another_sender_are_stored_meanwhile(pipeline: Pipeline,
                                                            pool: asyncpg.Pool) -> None:
    gated, first = await hold_first(pipeline, pool, "l2", part(1, ALICE, 7, 2, 1, "IZIN "))
    second = asyncio.create_task(pipeline.accept(
        "l2", [received(part(2, BOB, 7, 2, 1, "RET ")), received(part(3, BOB, 7, 2, 2, "ACME"))]))
    await wait_until(lambda: _count(second.done()), what="the second batch committed")
    await second
    assert not first.done()
    gated.release.set()
    await first
    await pipeline.accept("l2", [received(part(4, ALICE, 7, 2, 2, "ACME"))])
    rows = await pool.fetch("SELECT sender, text FROM mo_message ORDER BY id")
    assert [r["text"] for r in rows] == ["RET ACME", "IZIN ACME"]


async def test_one_batch_with_interleaved_parts_and_a_reused_reference(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """Parts written together behave as if stored one by one: two messages interleaved,
    then the first sender's reference used again for a new message after the first
    completed (its part 1 must not be taken for a copy of the first message's part 1)."""
    batch = [part(1, ALICE, 9, 2, 1, "RET "), part(2, BOB, 9, 2, 2, "ACME"),
             part(3, ALICE, 9, 2, 2, "ACME"), part(4, BOB, 9, 2, 1, "IZIN "),
             part(5, ALICE, 9, 2, 1, "IZIN "), part(6, ALICE, 9, 2, 2, "KUZEY")]
    await pipeline.accept("l2", [received(p) for p in batch])
    rows = await pool.fetch("SELECT source_addr, text, outcome FROM mo_message ORDER BY id")
    assert [(r["source_addr"], r["text"]) for r in rows] == [
        (ALICE, "RET ACME"), (BOB, "IZIN ACME"), (ALICE, "IZIN KUZEY")]
    assert await pool.fetchval("SELECT count(*) FROM sms_part WHERE message_id IS NULL") == 0
    assert await pool.fetchval("SELECT count(*) FROM sms_in WHERE message_id IS NULL") == 0


async def test_a_batch_with_parts_and_a_reply_is_two_statements(pipeline: Pipeline,
                                                                 pool: asyncpg.Pool) -> None:
    writer = pipeline.writer = StepWriter(pool)
    await pipeline.accept("l1", [received(part(1, ALICE, 5, 2, 1, "RET ")),
                                 received(deliver_pdu(2, b"IZIN ACME", source=BOB))])
    await pipeline.accept("l1", [received(part(3, ALICE, 5, 2, 2, "ACME"))])
    assert writer.statements == ["prepare", "write"] * 2
    rows = await pool.fetch("SELECT source_addr, text FROM mo_message ORDER BY id")
    assert [(r["source_addr"], r["text"]) for r in rows] == [(BOB, "IZIN ACME"),
                                                             (ALICE, "RET ACME")]
    # both parts' PDU and part rows point at the message they make; two replies written
    assert await pool.fetchval("SELECT count(DISTINCT message_id) FROM sms_in "
                               "WHERE source_addr = $1", ALICE) == 1
    assert await pool.fetchval("SELECT count(*) FROM sms_part WHERE message_id IS NULL") == 0
    assert await pool.fetchval("SELECT count(*) FROM sms_out") == 2


async def test_parts_taken_by_the_sweep_between_the_statements_fail_the_batch(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """The incomplete-part sweep (here, or in another process) claims a waiting part after a
    batch read it and before the batch writes: the batch must not build a message from it.
    Its statement fails (its PDUs are answered with an error), and the SMSC's resend becomes
    the first part of a message of its own."""
    writer = pipeline.writer = StepWriter(pool)
    await pipeline.accept("l2", [received(part(1, ALICE, 6, 2, 1, "RET "))])
    writer.meanwhile = lambda: pipeline.resolve_incomplete(older_than=0)
    with pytest.raises(BatchNotStored) as refused:
        await pipeline.accept("l2", [received(part(2, ALICE, 6, 2, 2, "ACME"))])
    assert refused.value.sqlstate == "40001"
    rows = await pool.fetch("SELECT text, outcome FROM mo_message ORDER BY id")
    assert [(r["text"], r["outcome"]) for r in rows] == [("RET ", "incomplete")]
    assert await pool.fetchval("SELECT count(*) FROM sms_in") == 1  # the batch wrote nothing
    await pipeline.accept("l2", [received(part(3, ALICE, 6, 2, 2, "ACME"))])
    assert await pool.fetchval("SELECT count(*) FROM sms_part WHERE message_id IS NULL") == 1
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 0

"""The session frames PDUs out of whatever the socket delivers: several in one read, one split
over many reads, and a bad length after good PDUs. Against a scripted SMSC on a local socket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from smpp_bind import pdu
from smpp_bind.session import Received, SessionMetrics
from tests.pdus import deliver_pdu
from tests.smpp.test_session_pipelining import Smsc, bound_session


@dataclass
class StoringSink:
    """Commits at once; keeps every batch it was given."""

    batches: list[list[Received]] = field(default_factory=list)

    async def accept(self, link: str, batch: list[Received]) -> None:
        self.batches.append(batch)

    def sequences(self) -> list[int]:
        return [item.sequence for batch in self.batches for item in batch]


@dataclass
class CountingMetrics(SessionMetrics):
    inbound: dict[str, int] = field(default_factory=dict)

    def pdu(self, link: str, direction: str, command: str, status: int,
            count: int = 1) -> None:
        if direction == "in":
            self.inbound[command] = self.inbound.get(command, 0) + count


async def read_answers(smsc: Smsc, n: int) -> list[tuple[int, int, int]]:
    answers = [(await smsc.read())[0] for _ in range(n)]
    return [(h.command_id, h.sequence, h.status) for h in answers]


async def test_pdus_split_anywhere_across_reads_are_each_stored_and_answered_once() -> None:
    sink = StoringSink()
    stream = b"".join([deliver_pdu(1, b"RET ACME"), pdu.enquire_link(2),
                       deliver_pdu(3, b"IZIN ACME"), deliver_pdu(4, b"RET")])
    async with bound_session(sink) as (_, smsc):
        # the first PDU and a half, then the rest one byte per write, each flushed
        cut = len(deliver_pdu(1, b"RET ACME")) + 10
        smsc.send(stream[:cut])
        for i in range(cut, len(stream)):
            smsc.send(stream[i:i + 1])
            await smsc.writer.drain()
        answers = await read_answers(smsc, 4)
    assert sorted(answers) == sorted([
        (pdu.DELIVER_SM_RESP, 1, pdu.ESME_ROK), (pdu.ENQUIRE_LINK_RESP, 2, pdu.ESME_ROK),
        (pdu.DELIVER_SM_RESP, 3, pdu.ESME_ROK), (pdu.DELIVER_SM_RESP, 4, pdu.ESME_ROK)])
    assert sink.sequences() == [1, 3, 4]
    assert [item.raw for batch in sink.batches for item in batch] == [
        deliver_pdu(1, b"RET ACME"), deliver_pdu(3, b"IZIN ACME"), deliver_pdu(4, b"RET")]


async def test_a_window_in_one_write_is_counted_and_answered_in_order() -> None:
    sink = StoringSink()
    metrics = CountingMetrics()
    async with bound_session(sink, metrics=metrics) as (_, smsc):
        smsc.send(b"".join(deliver_pdu(seq, b"RET ACME") for seq in range(1, 51)))
        answers = await read_answers(smsc, 50)
    assert answers == [(pdu.DELIVER_SM_RESP, seq, pdu.ESME_ROK) for seq in range(1, 51)]
    assert sink.sequences() == list(range(1, 51))
    assert metrics.inbound["deliver_sm"] == 50


async def test_a_bad_length_after_good_pdus_stores_all_and_ends_the_connection() -> None:
    sink = StoringSink()
    async with bound_session(sink) as (session, smsc):
        garbage = (7).to_bytes(4, "big") + b"\xff" * 12  # command_length 7 cannot be framed
        smsc.send(deliver_pdu(1, b"RET ACME") + deliver_pdu(2, b"RET ACME") + garbage)
        answers = await read_answers(smsc, 3)
        closed = await asyncio.wait_for(smsc.reader.read(), 10)  # EOF: the session hung up
    assert closed == b""
    assert answers == [(pdu.DELIVER_SM_RESP, 1, pdu.ESME_ROK),
                       (pdu.DELIVER_SM_RESP, 2, pdu.ESME_ROK),
                       (pdu.GENERIC_NACK, 0, pdu.ESME_RINVMSGLEN)]
    stored = [item for batch in sink.batches for item in batch]
    assert [item.sequence for item in stored] == [1, 2, 0]
    assert stored[2].deliver is None and stored[2].raw == garbage[:4]
    assert stored[2].error == "command_length 7 out of range"

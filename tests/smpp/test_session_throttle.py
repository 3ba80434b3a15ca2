"""Bounded memory: beyond the link's ``max_uncommitted`` PDUs waiting for their commit, a
deliver_sm/data_sm is answered ESME_RTHROTTLED at once and not stored, while the session keeps
reading (enquire_link and responses to our own requests still answered). Against a scripted
SMSC on a local socket and a sink whose commits the test finishes by hand."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field

from smpp_bind import pdu
from smpp_bind.commit import ThrottleLog
from smpp_bind.session import SessionMetrics
from smpp_bind.settings import LinkSettings
from tests.pdus import deliver_pdu
from tests.smpp.test_session_pipelining import HandSink, Smsc, bound_session


@dataclass
class ThrottleCountingMetrics(SessionMetrics):
    throttled_by_link: dict[str, int] = field(default_factory=dict)
    peak: int = 0

    def throttled(self, link: str, count: int = 1) -> None:
        self.throttled_by_link[link] = self.throttled_by_link.get(link, 0) + count

    def uncommitted_peak(self, link: str, waiting: int) -> None:
        self.peak = waiting


def data_sm_pdu(sequence: int) -> bytes:
    """A data_sm header in front of a deliver_sm body: a throttled PDU is never parsed."""
    data = bytearray(deliver_pdu(sequence, b"RET ACME"))
    data[4:8] = struct.pack(">I", pdu.DATA_SM)
    return bytes(data)


async def answers_until(smsc: Smsc, sequence: int) -> list[tuple[int, int, int]]:
    """Every PDU the session writes, up to and including the one with ``sequence``."""
    seen: list[tuple[int, int, int]] = []
    while not seen or seen[-1][1] != sequence:
        header, _ = await smsc.read()
        seen.append((header.command_id, header.sequence, header.status))
    return seen


async def test_beyond_the_bound_pdus_are_throttled_at_once_and_enquire_link_answered() -> None:
    sink = HandSink()
    metrics = ThrottleCountingMetrics()
    async with bound_session(sink, metrics, window=2, max_uncommitted=4) as (session, smsc):
        # ten deliver_sm, a data_sm and an enquire_link in one write, no commit returning
        smsc.send(b"".join(deliver_pdu(seq, b"RET ACME") for seq in range(1, 11))
                  + data_sm_pdu(11) + pdu.enquire_link(12))
        answered = await answers_until(smsc, 12)
        # four wait for their commit; the other six and the data_sm are refused at once
        assert answered == [
            *((pdu.DELIVER_SM_RESP, seq, pdu.ESME_RTHROTTLED) for seq in range(5, 11)),
            (pdu.DATA_SM_RESP, 11, pdu.ESME_RTHROTTLED),
            (pdu.ENQUIRE_LINK_RESP, 12, pdu.ESME_ROK),
        ]
        assert session.commits.waiting == 4 and session.commits.high_water == 4
        assert metrics.throttled_by_link == {"t": 7}
        assert metrics.peak == 4
        # commits return: the four are acknowledged, and there is room again
        await sink.wait_calls(2)
        for _, done in sink.calls:
            done.set_result(None)
        assert await answers_until(smsc, 4) == [
            (pdu.DELIVER_SM_RESP, seq, pdu.ESME_ROK) for seq in range(1, 5)]
        assert session.commits.waiting == 0
        # the SMSC sends a throttled one again (a new sequence number): stored this time
        smsc.send(deliver_pdu(13, b"RET ACME"))
        await sink.wait_calls(3)
        sink.calls[2][1].set_result(None)
        assert await answers_until(smsc, 13) == [(pdu.DELIVER_SM_RESP, 13, pdu.ESME_ROK)]
    stored = [seq for seqs, _ in sink.calls for seq in seqs]
    assert stored == [1, 2, 3, 4, 13]  # nothing throttled reached the sink
    assert session.commits.high_water == 4


async def test_a_submit_sm_resp_is_read_while_the_queue_is_full() -> None:
    """On a transceiver the replies' submit_sm wait for their responses; a full queue of
    deliver_sm must not keep those responses from being read."""
    sink = HandSink()
    async with bound_session(sink, mode="transceiver", replies=False, window=1,
                             max_uncommitted=1) as (session, smsc):
        smsc.send(deliver_pdu(1, b"RET ACME") + deliver_pdu(2, b"RET ACME"))
        assert await answers_until(smsc, 2) == [(pdu.DELIVER_SM_RESP, 2, pdu.ESME_RTHROTTLED)]
        submitting = asyncio.create_task(
            session.submit("4609", "+905321234567", 0, 0, b"Kaydiniz alindi"))
        header, _ = await smsc.read()
        assert header.command_id == pdu.SUBMIT_SM
        smsc.send(pdu.build("submit_sm_resp", header.sequence, message_id="m-1")
                  + deliver_pdu(3, b"RET ACME"))
        assert await submitting == (pdu.ESME_ROK, "m-1")
        assert await answers_until(smsc, 3) == [(pdu.DELIVER_SM_RESP, 3, pdu.ESME_RTHROTTLED)]
        assert session.commits.waiting == 1
        await sink.wait_calls(1)
        sink.calls[0][1].set_result(None)
        assert await answers_until(smsc, 1) == [(pdu.DELIVER_SM_RESP, 1, pdu.ESME_ROK)]


def test_the_default_bound_is_four_windows_and_a_configured_one_wins() -> None:
    base = LinkSettings(name="t", host="h", port=1, system_id="s", window=30)
    assert base.uncommitted_limit == 120
    assert LinkSettings(name="t", host="h", port=1, system_id="s", window=30,
                        max_uncommitted=45).uncommitted_limit == 45


@dataclass
class RecordingLog:
    lines: list[dict[str, object]] = field(default_factory=list)

    def warning(self, event: str, **fields: object) -> None:
        self.lines.append({"event": event, **fields})


def test_throttling_is_logged_at_most_once_a_second_with_the_count_since() -> None:
    now = [100.0]
    throttle_log = ThrottleLog(every=1.0, clock=lambda: now[0])
    log = RecordingLog()
    for step, count in ((0.0, 1), (0.1, 3), (0.5, 1), (0.99, 1), (1.0, 2), (1.2, 1), (2.5, 1)):
        now[0] = 100.0 + step
        throttle_log.throttled(log, count, waiting=200, limit=200)  # type: ignore[arg-type]
    assert [line["throttled"] for line in log.lines] == [1, 7, 2]
    assert all(line["max_uncommitted"] == 200 for line in log.lines)

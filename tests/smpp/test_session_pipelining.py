"""The session's pipelined group commit against a scripted SMSC on a local socket and a sink
whose commits the test finishes by hand: batches are stored concurrently, answered in order,
and a failed batch answers every one of its PDUs ESME_RX_T_APPN."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from smpp_bind import pdu
from smpp_bind.session import Received, Session, SessionMetrics
from smpp_bind.settings import LinkSettings
from tests.pdus import deliver_pdu


@dataclass
class HandSink:
    """``accept`` waits until the test resolves the future of that call."""

    calls: list[tuple[list[int], asyncio.Future[None]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def accept(self, link: str, batch: list[Received]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.calls.append(([item.sequence for item in batch], done))
        self.changed.set()
        await done

    async def wait_calls(self, n: int) -> None:
        while len(self.calls) < n:
            self.changed.clear()
            await self.changed.wait()


class FailingSink:
    async def accept(self, link: str, batch: list[Received]) -> None:
        raise ConnectionError("database down")


@dataclass
class Smsc:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def read(self) -> tuple[pdu.Header, bytes]:
        head = await self.reader.readexactly(4)
        data = head + await self.reader.readexactly(int.from_bytes(head, "big") - 4)
        return pdu.parse_header(data), data

    def send(self, data: bytes) -> None:
        self.writer.write(data)


@contextlib.asynccontextmanager
async def bound_session(sink: object, metrics: SessionMetrics | None = None, *,
                        mode: str = "receiver", **settings: Any
                        ) -> AsyncIterator[tuple[Session, Smsc]]:
    """A session bound to a scripted SMSC (``settings`` override the link's); yields once
    the bind is answered."""
    accepted: asyncio.Queue[Smsc] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(Smsc(reader, writer))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = LinkSettings(name="t", host="127.0.0.1", port=port, system_id="t",
                        password="pw", mode=mode, **{"window": 50, **settings})
    session = Session(link, sink, metrics=metrics)  # type: ignore[arg-type]
    running = asyncio.create_task(session.run())
    smsc = await accepted.get()
    try:
        header, _ = await smsc.read()
        assert pdu.command_name(header.command_id) == f"bind_{mode}"
        smsc.send(pdu.build(f"bind_{mode}_resp", header.sequence, system_id="smsc"))
        yield session, smsc
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        smsc.writer.close()
        server.close()
        await server.wait_closed()


async def test_nodelay_is_set_on_the_smpp_socket() -> None:
    """The property the benchmark needs (no Nagle delay on acks), whoever sets it: asyncio's
    selector transports do so themselves, our explicit setsockopt covers other loops."""
    async with bound_session(HandSink()) as (session, _):
        assert session._writer is not None
        sock = session._writer.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_batches_commit_concurrently_and_are_answered_in_order() -> None:
    sink = HandSink()
    async with bound_session(sink) as (_, smsc):
        smsc.send(deliver_pdu(1, b"RET ACME"))
        await sink.wait_calls(1)
        smsc.send(deliver_pdu(2, b"IZIN ACME"))
        await sink.wait_calls(2)  # the second batch is stored while the first is not yet
        assert [seqs for seqs, _ in sink.calls] == [[1], [2]]
        sink.calls[1][1].set_result(None)  # the later batch commits first
        # a round trip through the session: had batch 2 been answered out of order, its
        # response would come before this enquire_link_resp
        smsc.send(pdu.enquire_link(99))
        header, _ = await smsc.read()
        assert (header.command_id, header.sequence) == (pdu.ENQUIRE_LINK_RESP, 99)
        sink.calls[0][1].set_exception(ConnectionError("commit failed"))
        first, _ = await smsc.read()
        second, _ = await smsc.read()
    assert (first.command_id, first.sequence, first.status) == (
        pdu.DELIVER_SM_RESP, 1, pdu.ESME_RX_T_APPN)
    assert (second.command_id, second.sequence, second.status) == (
        pdu.DELIVER_SM_RESP, 2, pdu.ESME_ROK)


async def test_a_failed_commit_answers_every_pdu_of_the_batch_temporary_error() -> None:
    async with bound_session(FailingSink()) as (_, smsc):
        smsc.send(b"".join(deliver_pdu(seq, b"RET ACME") for seq in (5, 6, 7)))
        answers = [(await smsc.read())[0] for _ in range(3)]
    assert [(h.command_id, h.sequence, h.status) for h in answers] == [
        (pdu.DELIVER_SM_RESP, seq, pdu.ESME_RX_T_APPN) for seq in (5, 6, 7)]


async def test_at_most_pipeline_depth_batches_are_in_flight() -> None:
    sink = HandSink()
    async with bound_session(sink) as (session, smsc):
        depth = session.commits.pipeline_depth
        for seq in range(1, depth + 1):
            smsc.send(deliver_pdu(seq, b"RET ACME"))
            await sink.wait_calls(seq)
        # these wait for a free slot and then go as one batch
        smsc.send(b"".join(deliver_pdu(seq, b"RET ACME") for seq in (50, 51)))
        smsc.send(pdu.enquire_link(98))  # read after the two deliver_sm: they are queued
        header, _ = await smsc.read()
        assert header.command_id == pdu.ENQUIRE_LINK_RESP
        assert len(sink.calls) == depth
        sink.calls[0][1].set_result(None)
        await sink.wait_calls(depth + 1)
        assert sink.calls[-1][0] == [50, 51]
        for _, done in sink.calls[1:]:
            done.set_result(None)
        answered = [(await smsc.read())[0].sequence for _ in range(depth + 2)]
    assert answered == [*range(1, depth + 1), 50, 51]


async def test_nodelay_on_the_simulators_accepted_sockets() -> None:
    """As above, on the simulator's side (asyncio sets it too; this checks the property)."""
    from smpp_bind.simulator import Simulator

    simulator = Simulator("sim", "pw")
    port = await simulator.start("127.0.0.1", 0)
    seen: list[int] = []
    original = simulator._dispatch

    async def spy(peer: object, header: pdu.Header, data: bytes) -> None:
        sock = peer.writer.get_extra_info("socket")  # type: ignore[attr-defined]
        seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        await original(peer, header, data)  # type: ignore[arg-type]

    simulator._dispatch = spy  # type: ignore[method-assign]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(pdu.enquire_link(1))
        head = await reader.readexactly(16)
        assert pdu.parse_header(head).command_id == pdu.ENQUIRE_LINK_RESP
        writer.close()
    finally:
        await simulator.close()
    assert seen and seen[0] != 0

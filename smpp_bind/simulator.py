"""A small SMSC for the zero-config default and for trying things out by hand.

It is *not* what the tests use as "the other side" (they use the npm ``smpp`` package, an
independent implementation); it exists so that ``make run`` shows the whole path with no
operator at hand. Phones are played by transmitter binds: a ``submit_sm`` from a transmitter
(``iys-inbound send-sms``) is delivered as a mobile-originated ``deliver_sm`` to the bound
receiver/transceiver (the service), keeping data_coding, esm_class (UDHI) and TLVs; the
``submit_sm_resp`` is held until the service's ``deliver_sm_resp`` so the sender learns
whether the message was stored. ``submit_sm`` from the service itself (confirmation
replies) are accepted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
from dataclasses import dataclass, field

import structlog

from smpp_bind import pdu

log = structlog.get_logger(__name__)

_RECEIVING_BINDS = {pdu.BIND_RECEIVER: pdu.BIND_RECEIVER_RESP,
                    pdu.BIND_TRANSCEIVER: pdu.BIND_TRANSCEIVER_RESP}


@dataclass
class _Peer:
    writer: asyncio.StreamWriter
    mode: str = ""
    system_id: str = ""
    waiting: dict[int, asyncio.Future[int]] = field(default_factory=dict)


def _c_string_fields(body: bytes, count: int) -> tuple[list[str], int]:
    out, pos = [], 0
    for _ in range(count):
        end = body.index(b"\x00", pos)
        out.append(body[pos:end].decode("latin-1"))
        pos = end + 1
    return out, pos


def submit_to_deliver(submit: bytes, sequence: int) -> bytes:
    """A submit_sm's body re-framed as a deliver_sm (the two share their layout)."""
    return struct.pack(">IIII", len(submit), pdu.DELIVER_SM, 0, sequence) + submit[16:]


class Simulator:
    def __init__(self, system_id: str = "", password: str = "") -> None:
        self.system_id = system_id
        self.password = password
        self.receivers: list[_Peer] = []
        self.replies: list[bytes] = []  # submit_sm received from the service
        self._seq = itertools.count(1)
        self._message_ids = itertools.count(1)
        self.server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._handle, host, port)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readexactly(4)
        length = int.from_bytes(head, "big")
        if not pdu.HEADER_LEN <= length <= pdu.MAX_PDU_LEN:
            raise pdu.PduError(f"bad command_length {length}")
        return head + await reader.readexactly(length - 4)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # asyncio sets it too; said here so that no event loop forgets it
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = _Peer(writer)
        try:
            while True:
                data = await self._read(reader)
                header = pdu.parse_header(data)
                await self._dispatch(peer, header, data)
        except (asyncio.IncompleteReadError, ConnectionError, pdu.PduError):
            pass
        finally:
            if peer in self.receivers:
                self.receivers.remove(peer)
            for future in peer.waiting.values():
                if not future.done():
                    future.set_result(pdu.ESME_RSYSERR)
            writer.close()

    async def _dispatch(self, peer: _Peer, header: pdu.Header, data: bytes) -> None:
        w = peer.writer
        cid = header.command_id
        if cid in (pdu.BIND_RECEIVER, pdu.BIND_TRANSCEIVER, pdu.BIND_TRANSMITTER):
            (system_id, password, _), _ = _c_string_fields(data[16:], 3)
            # phones (transmitter binds) need no account; the service's link does
            ok = cid == pdu.BIND_TRANSMITTER or (
                (not self.system_id or system_id == self.system_id)
                and (not self.password or password == self.password))
            status = pdu.ESME_ROK if ok else pdu.ESME_RINVPASWD
            w.write(pdu.build(pdu.command_name(cid | 0x80000000), header.sequence, status,
                              system_id="simulator"))
            if ok:
                peer.mode, peer.system_id = pdu.command_name(cid), system_id
                if cid in _RECEIVING_BINDS:
                    self.receivers.append(peer)
                log.info("simulator bind", mode=peer.mode, system_id=system_id)
        elif cid == pdu.ENQUIRE_LINK:
            w.write(pdu.enquire_link_resp(header.sequence))
        elif cid == pdu.UNBIND:
            w.write(pdu.unbind_resp(header.sequence))
        elif cid == pdu.DELIVER_SM_RESP:
            future = peer.waiting.pop(header.sequence, None)
            if future is not None and not future.done():
                future.set_result(header.status)
        elif cid == pdu.SUBMIT_SM:
            if peer in self.receivers:  # the service replying to a phone
                self.replies.append(data)
                w.write(self._submit_resp(header.sequence, pdu.ESME_ROK))
            else:
                asyncio.create_task(self._route(peer, header, data))
        elif not header.is_response:
            w.write(pdu.generic_nack(header.sequence, pdu.ESME_RINVCMDID))

    def _submit_resp(self, sequence: int, status: int) -> bytes:
        body = f"sim-{next(self._message_ids)}".encode() + b"\x00" if status == 0 else b"\x00"
        return struct.pack(">IIII", 16 + len(body), pdu.SUBMIT_SM_RESP, status, sequence) + body

    async def _route(self, sender: _Peer, header: pdu.Header, data: bytes) -> None:
        """Deliver a phone's submit_sm to the service; answer the phone with its verdict."""
        status = pdu.ESME_RSYSERR
        if self.receivers:
            receiver = self.receivers[0]
            seq = next(self._seq)
            future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            receiver.waiting[seq] = future
            receiver.writer.write(submit_to_deliver(data, seq))
            try:
                status = await asyncio.wait_for(future, 30)
            except TimeoutError:
                receiver.waiting.pop(seq, None)
        else:
            log.warning("simulator has no receiver bound; message refused")
        sender.writer.write(self._submit_resp(header.sequence, status))

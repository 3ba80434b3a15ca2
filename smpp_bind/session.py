"""One SMPP 3.4 ESME session: connect, bind, read and frame PDUs, answer what needs no
commit (enquire_link, unbind, responses to our requests), keep the link alive.

Every deliver_sm/data_sm goes to the session's :class:`~smpp_bind.commit.GroupCommit`,
which stores it through the :class:`~smpp_bind.commit.Sink` and answers it after commit.
When too many wait for their commit (the link's ``max_uncommitted``), a further one is
answered ``ESME_RTHROTTLED`` at once, unstored, and the SMSC sends it again later; the read
loop never stops, so enquire_link and responses are still answered during a flood.

smpplib's blocking ``Client`` answers each ``deliver_sm`` when its handler returns, one at a
time, which rules out pipelined commits; we use its PDU codec only (see :mod:`smpp_bind.pdu`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from smpp_bind import pdu
from smpp_bind.commit import GroupCommit, Received, Sink, ThrottleLog
from smpp_bind.sender import ReplyOutbox, send_replies
from smpp_bind.settings import LinkSettings

__all__ = ["BindRefused", "LinkClosed", "Received", "Session", "SessionMetrics", "Sink",
           "StateCallback"]

log = structlog.get_logger(__name__)

READ_SIZE = 64 * 1024  # bytes asked of the socket at a time: a whole window of PDUs


def _length_error(length: int) -> str | None:
    """Why a ``command_length`` cannot frame a PDU; None when it can."""
    if pdu.HEADER_LEN <= length <= pdu.MAX_PDU_LEN:
        return None
    return f"command_length {length} out of range"


class BindRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused: {pdu.status_name(status)}")
        self.status = status


class LinkClosed(Exception):
    pass


StateCallback = Callable[[str, str], Awaitable[None] | None]


class Session:
    """One connection: connect, bind, then read/commit/ack until the connection ends."""

    def __init__(self, settings: LinkSettings, sink: Sink, *, metrics: SessionMetrics | None = None,
                 outbox: ReplyOutbox | None = None,
                 throttle_log: ThrottleLog | None = None) -> None:
        self.settings = settings
        self.outbox = outbox
        self.metrics = metrics or SessionMetrics()
        self.throttle_log = throttle_log or ThrottleLog()
        # random, not counted: a link's sessions may be bound by different processes over
        # time (link ownership moves), and the id only has to differ from the earlier ones
        self.session_id = secrets.randbits(62) + 1
        self.log = log.bind(link=settings.name)
        self._seq = 0
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[tuple[pdu.Header, bytes]]] = {}
        self._throttled: list[bytes] = []  # ESME_RTHROTTLED answers not written yet
        self._throttled_data_sm = 0         # how many of them answer a data_sm
        self.commits = GroupCommit(settings, sink, self.metrics, self._write_answers,
                                   self._drain, self.log)
        self._unbind_requested: int | None = None  # sequence of the SMSC's unbind
        self._last_read = 0.0

    # -- helpers ---------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq = self._seq % 0x7FFFFFFF + 1
        return self._seq

    def _write(self, data: bytes, command: str, status: int = pdu.ESME_ROK) -> None:
        self._flush_throttled()  # answers go out in the order the PDUs came
        assert self._writer is not None
        self._writer.write(data)
        self.metrics.pdu(self.settings.name, "out", command, status)

    def _write_answers(self, data: bytes) -> None:
        """A batch's responses (GroupCommit counts them itself)."""
        assert self._writer is not None
        self._writer.write(data)

    async def _drain(self) -> None:
        assert self._writer is not None
        await self._writer.drain()

    async def _request(self, data: bytes, sequence: int, command: str
                       ) -> tuple[pdu.Header, bytes]:
        future: asyncio.Future[tuple[pdu.Header, bytes]] = (
            asyncio.get_running_loop().create_future())
        self._pending[sequence] = future
        self._write(data, command)
        try:
            return await asyncio.wait_for(future, self.settings.response_timeout)
        finally:
            self._pending.pop(sequence, None)

    # -- connection ------------------------------------------------------------------------
    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        ctx: ssl.SSLContext | None = None
        if self.settings.tls:
            ctx = ssl.create_default_context()
            if not self.settings.tls_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.settings.host, self.settings.port, ssl=ctx),
            self.settings.response_timeout,
        )
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # without it Nagle's algorithm holds some acknowledgements for ~40 ms
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    async def _read_pdu(self, reader: asyncio.StreamReader) -> bytes:
        """One PDU, while binding (the read loop frames whole reads, see _frame_all)."""
        head = await reader.readexactly(4)
        length = int.from_bytes(head, "big")
        if (error := _length_error(length)) is not None:
            # the stream cannot be re-synchronised after a bad length: the bind fails
            raise pdu.PduError(error)
        body = await reader.readexactly(length - 4)
        self._last_read = time.monotonic()
        return head + body

    async def _bind(self, reader: asyncio.StreamReader) -> None:
        s = self.settings
        seq = self._next_seq()
        self._write(
            pdu.bind(s.mode, seq, s.system_id, s.password, s.system_type, s.address_range),
            f"bind_{s.mode}",
        )
        deadline = time.monotonic() + s.response_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no bind response")
            data = await asyncio.wait_for(self._read_pdu(reader), remaining)
            header = pdu.parse_header(data)
            self.metrics.pdu(s.name, "in", pdu.command_name(header.command_id), header.status)
            if header.command_id in (pdu.BIND_RECEIVER_RESP, pdu.BIND_TRANSCEIVER_RESP,
                                     pdu.BIND_TRANSMITTER_RESP, pdu.GENERIC_NACK):
                if header.status != pdu.ESME_ROK:
                    raise BindRefused(header.status)
                return
            if header.command_id == pdu.ENQUIRE_LINK:
                self._write(pdu.enquire_link_resp(header.sequence), "enquire_link_resp")

    async def run(self, on_bound: Callable[[], Awaitable[None] | None] | None = None) -> None:
        """One connection's life. Returns when the SMSC unbinds or closes; raises on errors."""
        reader, writer = await self._open()
        self._writer = writer
        try:
            await self._bind(reader)
            self.log.info("bound", mode=self.settings.mode, host=self.settings.host,
                          port=self.settings.port)
            if on_bound is not None:
                result = on_bound()
                if asyncio.iscoroutine(result):
                    await result
            await self._serve(reader)
        finally:
            for future in self._pending.values():
                future.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader) -> None:
        committer = asyncio.create_task(self.commits.run(), name=f"commit-{self.settings.name}")
        keepalive = asyncio.create_task(self._keepalive(), name=f"enquire-{self.settings.name}")
        others = {committer, keepalive}
        replies_of = self.settings.reply_outbox  # this link's replies, or its receiver's
        if self.outbox is not None and replies_of is not None:
            others.add(asyncio.create_task(
                send_replies(self, self.outbox, replies_of, self.settings.send_rate),
                name=f"replies-{self.settings.name}"))
        try:
            reading = asyncio.create_task(self._read_loop(reader))
            done, _ = await asyncio.wait(
                {reading, *others}, return_when=asyncio.FIRST_COMPLETED
            )
            if reading in done and reading.exception() is None:
                # orderly end (unbind or EOF): answer what was read before closing
                self.commits.end()
                await committer
                if self._unbind_requested is not None:
                    self._write(pdu.unbind_resp(self._unbind_requested), "unbind_resp")
                    assert self._writer is not None
                    await self._writer.drain()
            for task in done:
                task.result()  # re-raise the error that ended the session
        finally:
            for task in (*others, reading):
                task.cancel()
            await asyncio.gather(*others, reading, return_exceptions=True)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        """Read what the socket has (many PDUs at window 50) and frame every whole PDU in it:
        one await per read, not two per PDU, and the PDU counters once per read."""
        buffer = b""  # bytes, not bytearray: a PDU is then one slice, one copy
        while True:
            chunk = await reader.read(READ_SIZE)
            if not chunk:
                if buffer:
                    raise LinkClosed(f"connection closed inside a PDU ({len(buffer)} bytes)")
                raise LinkClosed("connection closed by the SMSC")
            self._last_read = time.monotonic()
            buffer = buffer + chunk if buffer else chunk
            counts: dict[tuple[str, int], int] = {}
            try:
                consumed, go_on = self._frame_all(buffer, counts)
            finally:
                self._flush_throttled()
                for (command, status), n in counts.items():
                    self.metrics.pdu(self.settings.name, "in", command, status, n)
            if not go_on:
                return
            buffer = buffer[consumed:]
            # the one pause: when the SMSC does not read our answers, wait until it does
            # (returns at once otherwise); our write buffer is bounded as well as the queue
            await self._drain()

    def _frame_all(self, buffer: bytes, counts: dict[tuple[str, int], int]
                   ) -> tuple[int, bool]:
        """Handle every whole PDU at the start of ``buffer``: how many bytes they took, and
        whether to read on (False after an unbind or an unframeable length)."""
        pos = 0
        end = len(buffer)
        while end - pos >= 4:
            length = int.from_bytes(buffer[pos:pos + 4], "big")
            if (error := _length_error(length)) is not None:
                # stored as malformed and answered with generic_nack; then the connection is
                # closed and re-opened, the only way to find PDU boundaries again
                self.log.warning("unframeable PDU; reconnecting", error=error)
                self.commits.put(Received(0, 0, buffer[pos:pos + 4], datetime.now(UTC),
                                          None, error, monotonic=time.monotonic(),
                                          session=self.session_id))
                return pos, False
            if end - pos < length:
                break
            data = buffer[pos:pos + length]
            pos += length
            header = pdu.parse_header(data)
            command = pdu.command_name(header.command_id)
            key = (command, header.status)
            counts[key] = counts.get(key, 0) + 1
            if not self._dispatch(header, command, data):
                return pos, False
        return pos, True

    def _dispatch(self, header: pdu.Header, command: str, data: bytes) -> bool:
        """Act on one PDU from the SMSC; False when it ends the session (unbind)."""
        if header.command_id in (pdu.DELIVER_SM, pdu.DATA_SM):
            if self.commits.has_room():
                self.commits.put(self._received(header, data))
            else:
                self._throttle(header)
        elif header.command_id == pdu.ENQUIRE_LINK:
            self._write(pdu.enquire_link_resp(header.sequence), "enquire_link_resp")
        elif header.command_id == pdu.UNBIND:
            self.log.info("smsc unbind")
            self._unbind_requested = header.sequence
            return False
        elif header.is_response:
            future = self._pending.get(header.sequence)
            if future is not None and not future.done():
                future.set_result((header, data))
            elif header.command_id == pdu.GENERIC_NACK:
                self.log.warning("generic_nack from smsc", status=pdu.status_name(header.status))
        else:
            self.log.warning("unsupported command", command=command)
            self._write(pdu.generic_nack(header.sequence, pdu.ESME_RINVCMDID), "generic_nack",
                        pdu.ESME_RINVCMDID)
        return True

    def _throttle(self, header: pdu.Header) -> None:
        """Too many PDUs wait for their commit: refuse this one at once, unparsed and
        unstored; the SMSC sends it again later, as a new PDU (inbound/redelivery.py).
        The answer goes out with the next write or at the end of this read (a flood
        brings thousands of them: one write, not one per PDU)."""
        if header.command_id == pdu.DATA_SM:
            self._throttled.append(pdu.data_sm_resp(header.sequence, pdu.ESME_RTHROTTLED))
            self._throttled_data_sm += 1
        else:
            self._throttled.append(pdu.deliver_sm_resp(header.sequence, pdu.ESME_RTHROTTLED))

    def _flush_throttled(self) -> None:
        if not self._throttled:
            return
        out, data_sm = self._throttled, self._throttled_data_sm
        self._throttled, self._throttled_data_sm = [], 0
        assert self._writer is not None
        self._writer.write(b"".join(out))
        name, n = self.settings.name, len(out)
        if n > data_sm:
            self.metrics.pdu(name, "out", "deliver_sm_resp", pdu.ESME_RTHROTTLED, n - data_sm)
        if data_sm:
            self.metrics.pdu(name, "out", "data_sm_resp", pdu.ESME_RTHROTTLED, data_sm)
        self.metrics.throttled(name, n)
        self.throttle_log.throttled(self.log, n, self.commits.waiting, self.commits.limit)

    def _received(self, header: pdu.Header, data: bytes) -> Received:
        now = datetime.now(UTC)
        try:
            deliver = pdu.parse_deliver_sm(data)
            return Received(header.command_id, header.sequence, data, now, deliver,
                            monotonic=time.monotonic(), session=self.session_id)
        except pdu.PduError as exc:
            self.log.warning("malformed deliver_sm", error=str(exc), sequence=header.sequence)
            return Received(header.command_id, header.sequence, data, now, None, str(exc),
                            monotonic=time.monotonic(), session=self.session_id)

    async def _keepalive(self) -> None:
        interval = self.settings.enquire_link_interval
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - self._last_read < interval / 2:
                continue  # traffic proves the link is alive
            seq = self._next_seq()
            try:
                await self._request(pdu.enquire_link(seq), seq, "enquire_link")
            except TimeoutError as exc:
                raise LinkClosed("no enquire_link_resp") from exc

    async def submit(self, source_addr: str, destination_addr: str, data_coding: int,
                     esm_class: int, short_message: bytes) -> tuple[int, str]:
        """Send one ``submit_sm``; return its status and the SMSC's message id."""
        seq = self._next_seq()
        data = pdu.build(
            "submit_sm", seq, source_addr_ton=0 if len(source_addr) < 8 else 1,
            source_addr_npi=0 if len(source_addr) < 8 else 1, source_addr=source_addr,
            dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination_addr.lstrip("+"),
            esm_class=esm_class, data_coding=data_coding, short_message=short_message,
        )
        header, resp = await self._request(data, seq, "submit_sm")
        message_id = resp[16:].split(b"\x00", 1)[0].decode("latin-1", "replace")
        return header.status, message_id

    async def unbind(self) -> None:
        """Orderly close from our side (shutdown)."""
        if self._writer is None or self._writer.is_closing():
            return
        seq = self._next_seq()
        with contextlib.suppress(TimeoutError, ConnectionError, asyncio.CancelledError):
            await self._request(pdu.unbind(seq), seq, "unbind")


class SessionMetrics:
    """Hooks the session calls; the default does nothing (``inbound`` plugs Prometheus in)."""

    def pdu(self, link: str, direction: str, command: str, status: int,
            count: int = 1) -> None: ...
    def committed(self, link: str, size: int, seconds: float) -> None: ...
    def commit_failed(self, link: str) -> None: ...
    def acked(self, link: str, seconds: float) -> None: ...
    def throttled(self, link: str, count: int = 1) -> None: ...
    def uncommitted_peak(self, link: str, waiting: int) -> None: ...
    def bound(self, link: str, is_bound: bool) -> None: ...
    def reconnect(self, link: str) -> None: ...
    def bind_failed(self, link: str, status: str) -> None: ...

"""Play a phone: bind as a transmitter and submit an SMS (used by ``iys-inbound send-sms``).

The text is encoded as a handset would: GSM 7-bit when it fits (with the Turkish
single-shift table when Turkish letters need it), else UCS-2, split into concatenated parts
when long (:func:`smpp_bind.segment.segment_text`).
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass

from smpp_bind import pdu
from smpp_bind.segment import segment_text


@dataclass(frozen=True)
class SubmitResult:
    parts: int
    statuses: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return all(s == pdu.ESME_ROK for s in self.statuses)


async def _read(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(4)
    return head + await reader.readexactly(int.from_bytes(head, "big") - 4)


async def _await_resp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      sequence: int) -> pdu.Header:
    while True:
        header = pdu.parse_header(await _read(reader))
        if header.command_id == pdu.ENQUIRE_LINK:
            writer.write(pdu.enquire_link_resp(header.sequence))
        elif header.is_response and header.sequence == sequence:
            return header


async def send_sms(host: str, port: int, sender: str, to: str, text: str, *,
                   system_id: str = "phone", password: str = "", timeout: float = 30.0
                   ) -> SubmitResult:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        writer.write(pdu.bind("transmitter", 1, system_id, password))
        bind_resp = await asyncio.wait_for(_await_resp(reader, writer, 1), timeout)
        if bind_resp.status != pdu.ESME_ROK:
            raise ConnectionError(f"bind refused: {pdu.status_name(bind_resp.status)}")
        statuses = []
        sender_ton = 1 if sender.lstrip("+").isdigit() and len(sender.lstrip("+")) > 8 else 0
        for seq, segment in enumerate(segment_text(text, reference=random.randrange(256)), 2):
            writer.write(pdu.build(
                "submit_sm", seq,
                source_addr_ton=sender_ton, source_addr_npi=1 if sender_ton else 0,
                source_addr=sender.lstrip("+"), dest_addr_ton=0, dest_addr_npi=0,
                destination_addr=to, esm_class=segment.esm_class,
                data_coding=segment.data_coding, short_message=segment.short_message,
            ))
            resp = await asyncio.wait_for(_await_resp(reader, writer, seq), timeout)
            statuses.append(resp.status)
        writer.write(pdu.unbind(99))
        await writer.drain()
        return SubmitResult(len(statuses), tuple(statuses))
    finally:
        writer.close()

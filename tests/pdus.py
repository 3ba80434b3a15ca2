"""Building deliver_sm PDUs and user data by hand, byte by byte, for tests."""

from __future__ import annotations

import struct

import gsmcodecs  # noqa: F401  (registers the gsm23.038-* codecs)

from smpp_bind import pdu


def deliver_pdu(sequence: int, short_message: bytes, *, source: str = "905321234567",
                ton: int = 1, dest: str = "4609", esm_class: int = 0, data_coding: int = 0,
                tlvs: bytes = b"") -> bytes:
    body = (b"\x00" + bytes([ton, 1]) + source.encode() + b"\x00" + b"\x00\x00" + dest.encode()
            + b"\x00" + bytes([esm_class, 0, 0]) + b"\x00\x00" + bytes([0, 0, data_coding, 0])
            + bytes([len(short_message)]) + short_message + tlvs)
    return struct.pack(">IIII", 16 + len(body), pdu.DELIVER_SM, 0, sequence) + body


def udh(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return bytes([len(body)]) + body


def ie_concat8(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x00, 3, ref, total, seq])


def ie_concat16(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x08, 4, ref >> 8, ref & 0xFF, total, seq])


def ie_single_shift(language: int = 1) -> bytes:
    return bytes([0x24, 1, language])


def ie_locking_shift(language: int = 1) -> bytes:
    return bytes([0x25, 1, language])


def gsm7_unpacked(text: str, single_shift: int = 0, locking_shift: int = 0) -> bytes:
    return text.encode(f"gsm23.038-{locking_shift}-{single_shift}")


def ucs2(text: str) -> bytes:
    return text.encode("utf-16-be")

"""What a deliver_sm carries: its kind, its user data header and its text (pure functions).

SMPP 3.4 §5.2.12 (esm_class), §5.3.2 (TLVs); 3GPP TS 23.040 §9.2.3.24 (UDH information
elements) and TS 23.038 (data coding, GSM 7-bit alphabet and national language tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gsmcodecs  # noqa: F401  (registers the gsm23.038-* codecs)

from smpp_bind import pdu

Kind = Literal["mo", "delivery_receipt", "intermediate_notification", "user_ack", "manual_ack",
               "conversation_abort"]
Encoding = Literal["gsm7", "latin1", "ucs2", "ascii", "binary", "unknown"]

_MESSAGE_TYPES: dict[int, Kind] = {
    0x00: "mo", 0x04: "delivery_receipt", 0x08: "user_ack", 0x10: "manual_ack",
    0x18: "conversation_abort", 0x20: "intermediate_notification",
}
UDHI = 0x40

IE_CONCAT_8 = 0x00
IE_CONCAT_16 = 0x08
IE_SINGLE_SHIFT = 0x24
IE_LOCKING_SHIFT = 0x25


@dataclass(frozen=True)
class Concat:
    reference: int
    total: int
    sequence: int
    scheme: Literal["udh8", "udh16", "sar"]


@dataclass(frozen=True)
class Message:
    kind: Kind
    data_coding: int
    encoding: Encoding
    payload: bytes            # user data without the UDH
    text: str | None          # None: binary, unknown coding or undecodable
    concat: Concat | None = None
    locking_shift: int = 0
    single_shift: int = 0
    udh: bytes = b""
    receipt: dict[str, str] | None = None


def encoding_of(data_coding: int, *, gsm_as_latin1: bool = False) -> Encoding:
    if data_coding == 0:
        return "latin1" if gsm_as_latin1 else "gsm7"
    if data_coding == 1:
        return "ascii"
    if data_coding == 3:
        return "latin1"
    if data_coding == 8:
        return "ucs2"
    if data_coding in (2, 4):
        return "binary"
    if data_coding & 0xF0 == 0xF0:  # "data coding / message class" group (TS 23.038 §4)
        return "binary" if data_coding & 0x04 else "gsm7"
    return "unknown"


def decode_text(payload: bytes, data_coding: int, *, locking_shift: int = 0,
                single_shift: int = 0, gsm_as_latin1: bool = False) -> str | None:
    """Decode user data (already without UDH); None when it is not decodable text."""
    encoding = encoding_of(data_coding, gsm_as_latin1=gsm_as_latin1)
    try:
        if encoding == "gsm7":
            # SMPP carries GSM 7-bit unpacked: one septet per octet
            return payload.decode(f"gsm23.038-{locking_shift}-{single_shift}")
        if encoding == "latin1":
            return payload.decode("latin-1")
        if encoding == "ascii":
            return payload.decode("ascii")
        if encoding == "ucs2":
            return payload.decode("utf-16-be")  # UTF-16BE: surrogate pairs (emoji) allowed
    except (UnicodeDecodeError, LookupError):
        return None
    return None


def parse_udh(user_data: bytes) -> tuple[dict[int, bytes], bytes] | None:
    """Split user data into (IEs, rest); None when the header is malformed."""
    if not user_data:
        return None
    length = user_data[0]
    if length + 1 > len(user_data):
        return None
    header, rest = user_data[1:length + 1], user_data[length + 1:]
    elements: dict[int, bytes] = {}
    pos = 0
    while pos < len(header):
        if pos + 2 > len(header):
            return None
        iei, size = header[pos], header[pos + 1]
        if pos + 2 + size > len(header):
            return None
        elements.setdefault(iei, header[pos + 2:pos + 2 + size])
        pos += 2 + size
    return elements, rest


def _concat_from_udh(elements: dict[int, bytes]) -> Concat | None:
    if (v := elements.get(IE_CONCAT_8)) is not None and len(v) == 3 and v[1] and 0 < v[2] <= v[1]:
        return Concat(v[0], v[1], v[2], "udh8")
    if (v := elements.get(IE_CONCAT_16)) is not None and len(v) == 4 and v[2] and 0 < v[3] <= v[2]:
        return Concat(int.from_bytes(v[:2], "big"), v[2], v[3], "udh16")
    return None


def _concat_from_sar(tlvs: dict[int, bytes]) -> Concat | None:
    ref = tlvs.get(pdu.TLV_SAR_MSG_REF_NUM)
    total = tlvs.get(pdu.TLV_SAR_TOTAL_SEGMENTS)
    seq = tlvs.get(pdu.TLV_SAR_SEGMENT_SEQNUM)
    if ref is None or total is None or seq is None or not total or not seq:
        return None
    if len(ref) != 2 or total[0] == 0 or not 0 < seq[0] <= total[0]:
        return None
    return Concat(int.from_bytes(ref, "big"), total[0], seq[0], "sar")


def parse_receipt(text: str | None, tlvs: dict[int, bytes]) -> dict[str, str]:
    """``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`` (SMPP appendix B)."""
    receipt: dict[str, str] = {}
    if text:
        keys = ("id", "sub", "dlvrd", "submit date", "done date", "stat", "err", "text")
        lower = text.lower()
        for i, key in enumerate(keys):
            at = lower.find(key + ":")
            if at < 0:
                continue
            start = at + len(key) + 1
            ends = [lower.find(k + ":", start) for k in keys[i + 1:]]
            end = min([e for e in ends if e >= 0], default=len(text))
            receipt[key.replace(" ", "_")] = text[start:end].strip()
    if (mid := tlvs.get(pdu.TLV_RECEIPTED_MESSAGE_ID)) is not None:
        receipt["receipted_message_id"] = mid.rstrip(b"\x00").decode("latin-1")
    if (state := tlvs.get(pdu.TLV_MESSAGE_STATE)) is not None and state:
        receipt["message_state"] = str(state[0])
    return receipt


def decode_message(d: pdu.DeliverSm, *, gsm_as_latin1: bool = False) -> Message:
    kind = _MESSAGE_TYPES.get(d.esm_class & 0x3C, "mo")
    user_data = d.tlvs.get(pdu.TLV_MESSAGE_PAYLOAD, d.short_message) or d.short_message
    udh = b""
    elements: dict[int, bytes] = {}
    payload = user_data
    if d.esm_class & UDHI:
        parsed = parse_udh(user_data)
        if parsed is None:
            # a header that cannot be read: keep the raw bytes, never guess the text
            return Message(kind, d.data_coding, "unknown", user_data, None)
        elements, payload = parsed
        udh = user_data[1:len(user_data) - len(payload)]
    single = elements.get(IE_SINGLE_SHIFT, b"\x00")[:1] or b"\x00"
    locking = elements.get(IE_LOCKING_SHIFT, b"\x00")[:1] or b"\x00"
    concat = _concat_from_udh(elements) or _concat_from_sar(d.tlvs)
    text = decode_text(payload, d.data_coding, locking_shift=locking[0],
                       single_shift=single[0], gsm_as_latin1=gsm_as_latin1)
    encoding = encoding_of(d.data_coding, gsm_as_latin1=gsm_as_latin1)
    receipt = parse_receipt(text, d.tlvs) if kind != "mo" else None
    return Message(kind, d.data_coding, encoding, payload, text, concat, locking[0], single[0],
                   udh, receipt)

"""What a deliver_sm carries: its kind, its user data header and its text (pure functions).

SMPP 3.4 §5.2.12 (esm_class), §5.2.19 (data_coding), §5.3.2 (TLVs); 3GPP TS 23.040
§9.2.3.24 (UDH information elements) and TS 23.038 (data coding, GSM 7-bit alphabet and
national language tables).

Decisions where the specifications leave room (each has a test in tests/smpp/test_message.py):

* ``esm_class`` message types that SMPP 3.4 reserves (bits 2-5 not one of 0x00, 0x04, 0x08,
  0x10, 0x18, 0x20) are ``kind="unknown"``: never taken for an MO text, never for a receipt.
* A UDH that runs past the user data (UDHI set) is not guessed at: the message keeps the whole
  user data as ``payload``, ``udh=b""``, no concatenation, ``encoding="unknown"``, ``text=None``.
* An information element whose length is wrong for its kind is ignored (TS 23.040: the
  receiving entity ignores an IE it cannot use); a repeated IE: the last one counts.
* A concatenation IE with total 0, sequence 0 or sequence > total is ignored (TS 23.040).
* A national language id without a table (gsmcodecs knows 0-13; Spanish has no locking
  table) falls back to the default table for that shift, as TS 23.040 §9.2.3.24.15-16 says.
* data_coding: 0 GSM 7-bit (or Latin-1, per link), 1 IA5 (``"ascii"``), 3 Latin-1, 8 UCS-2
  (UTF-16BE), 2/4 binary; 0xF0-0xFF is TS 23.038's "data coding / message class" group: bit 2
  set → 8-bit data (binary), clear → GSM 7-bit. Everything else → ``"unknown"``, never guessed.
* A delivery receipt's text (SMPP 3.4 appendix B) is ASCII whatever data_coding says, so it
  is parsed from the octets (Latin-1), except UCS-2 ones, which are parsed from the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import gsmcodecs  # noqa: F401  (registers the gsm23.038-* codecs)
from gsmcodecs.charmaps import GSMCHARMAPS

from smpp_bind import pdu

Kind = Literal["mo", "delivery_receipt", "intermediate_notification", "user_ack", "manual_ack",
               "conversation_abort", "unknown"]
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
_IE_LENGTHS = {IE_CONCAT_8: 3, IE_CONCAT_16: 4, IE_SINGLE_SHIFT: 1, IE_LOCKING_SHIFT: 1}


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
    locking_shift: int = 0    # national language ids from the UDH (0 = default tables)
    single_shift: int = 0
    udh: bytes = b""          # raw UDH without its length octet
    receipt: dict[str, str] | None = None  # only for receipts and notifications


def kind_of(esm_class: int) -> Kind:
    """The message type in ``esm_class`` bits 2-5 (SMPP 3.4 §5.2.12)."""
    return _MESSAGE_TYPES.get(esm_class & 0x3C, "unknown")


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


def gsm_codec_name(locking_shift: int, single_shift: int) -> str:
    """The gsmcodecs codec for these language ids; ids without a table use the default one.

    gsmcodecs itself raises ``KeyError`` for an unknown locking id, and silently drops a
    single-shift id whenever the *locking* id has no single-shift table, so both are settled
    here before its constructor sees them.
    """
    locking = locking_shift if "locking" in GSMCHARMAPS.get(locking_shift, {}) else 0
    single = single_shift if "singleShift" in GSMCHARMAPS.get(single_shift, {}) else 0
    return f"gsm23.038-{locking}-{single}"


def decode_text(payload: bytes, data_coding: int, *, locking_shift: int = 0,
                single_shift: int = 0, gsm_as_latin1: bool = False) -> str | None:
    """Decode user data (already without UDH); None when it is not decodable text.

    Used on one PDU's payload and on the joined payloads of a concatenated message.
    """
    encoding = encoding_of(data_coding, gsm_as_latin1=gsm_as_latin1)
    try:
        if encoding == "gsm7":
            # SMPP carries GSM 7-bit unpacked: one septet per octet
            return payload.decode(gsm_codec_name(locking_shift, single_shift))
        if encoding == "latin1":
            return payload.decode("latin-1")
        if encoding == "ascii":
            return payload.decode("ascii")
        if encoding == "ucs2":
            return payload.decode("utf-16-be")  # strict: pairs yes, lone surrogates no
    except UnicodeDecodeError:
        return None
    return None


def parse_udh(user_data: bytes) -> tuple[bytes, dict[int, bytes], bytes] | None:
    """Split user data into (raw UDH, usable IEs, rest); None when the header is malformed.

    Unknown IEs are skipped, known ones of the wrong length ignored, and of a repeated IE
    the last one counts (TS 23.040 §9.2.3.24).
    """
    if not user_data or user_data[0] + 1 > len(user_data):
        return None
    header, rest = user_data[1:user_data[0] + 1], user_data[user_data[0] + 1:]
    elements: dict[int, bytes] = {}
    pos = 0
    while pos < len(header):
        if pos + 2 > len(header) or pos + 2 + header[pos + 1] > len(header):
            return None
        iei, size = header[pos], header[pos + 1]
        if _IE_LENGTHS.get(iei, size) == size:
            elements[iei] = header[pos + 2:pos + 2 + size]
        pos += 2 + size
    return header, elements, rest


def _valid_part(total: int, sequence: int) -> bool:
    return 0 < sequence <= total


def _concat_from_udh(elements: dict[int, bytes]) -> Concat | None:
    if (v := elements.get(IE_CONCAT_8)) is not None and _valid_part(v[1], v[2]):
        return Concat(v[0], v[1], v[2], "udh8")
    if (v := elements.get(IE_CONCAT_16)) is not None and _valid_part(v[2], v[3]):
        return Concat(int.from_bytes(v[:2], "big"), v[2], v[3], "udh16")
    return None


def _concat_from_sar(tlvs: dict[int, bytes]) -> Concat | None:
    ref = tlvs.get(pdu.TLV_SAR_MSG_REF_NUM, b"")
    total = tlvs.get(pdu.TLV_SAR_TOTAL_SEGMENTS, b"")
    seq = tlvs.get(pdu.TLV_SAR_SEGMENT_SEQNUM, b"")
    if len(ref) != 2 or len(total) != 1 or len(seq) != 1 or not _valid_part(total[0], seq[0]):
        return None
    return Concat(int.from_bytes(ref, "big"), total[0], seq[0], "sar")


_RECEIPT_KEYS = ("id", "sub", "dlvrd", "submit date", "done date", "stat", "err", "text")
_RECEIPT_FIELD = re.compile(
    r"\b(" + "|".join(k.replace(" ", r"\s+") for k in _RECEIPT_KEYS) + r"):", re.IGNORECASE)


def parse_receipt(text: str | None, tlvs: dict[int, bytes]) -> dict[str, str]:
    """``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`` (SMPP appendix B).

    Keys are lower case with ``_`` for spaces (``submit_date``); everything after ``text:`` is
    the text, whatever it contains. The TLVs add ``receipted_message_id`` and
    ``message_state`` (its number, SMPP 3.4 §5.3.2.35).
    """
    receipt: dict[str, str] = {}
    if text:
        matches = []
        for match in _RECEIPT_FIELD.finditer(text):
            matches.append(match)
            if match.group(1).lower() == "text":
                break
        ends = [following.start() for following in matches[1:]] + [len(text)]
        for match, end in zip(matches, ends, strict=False):
            key = "_".join(match.group(1).lower().split())
            receipt.setdefault(key, text[match.end():end].strip())
    if (mid := tlvs.get(pdu.TLV_RECEIPTED_MESSAGE_ID)) is not None:
        receipt["receipted_message_id"] = mid.split(b"\x00", 1)[0].decode("latin-1")
    if state := tlvs.get(pdu.TLV_MESSAGE_STATE):
        receipt["message_state"] = str(state[0])
    return receipt


def _receipt(kind: Kind, encoding: Encoding, payload: bytes, text: str | None,
             tlvs: dict[int, bytes]) -> dict[str, str] | None:
    if kind not in ("delivery_receipt", "intermediate_notification"):
        return None
    return parse_receipt(text if encoding == "ucs2" else payload.decode("latin-1"), tlvs)


def decode_message(d: pdu.DeliverSm, *, gsm_as_latin1: bool = False) -> Message:
    kind = kind_of(d.esm_class)
    user_data = d.tlvs.get(pdu.TLV_MESSAGE_PAYLOAD) or d.short_message
    encoding = encoding_of(d.data_coding, gsm_as_latin1=gsm_as_latin1)
    udh, elements, payload = b"", {}, user_data
    if d.esm_class & UDHI:
        parsed = parse_udh(user_data)
        if parsed is None:
            # a header that cannot be read: keep the raw bytes, never guess the text
            return Message(kind, d.data_coding, "unknown", user_data, None,
                           receipt=_receipt(kind, "unknown", b"", None, d.tlvs))
        udh, elements, payload = parsed
    single = elements.get(IE_SINGLE_SHIFT, b"\x00")[0]
    locking = elements.get(IE_LOCKING_SHIFT, b"\x00")[0]
    text = decode_text(payload, d.data_coding, locking_shift=locking, single_shift=single,
                       gsm_as_latin1=gsm_as_latin1)
    return Message(
        kind=kind, data_coding=d.data_coding, encoding=encoding, payload=payload, text=text,
        concat=_concat_from_udh(elements) or _concat_from_sar(d.tlvs), locking_shift=locking,
        single_shift=single, udh=udh, receipt=_receipt(kind, encoding, payload, text, d.tlvs),
    )

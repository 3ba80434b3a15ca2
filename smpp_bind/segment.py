"""Encode and split a text for ``submit_sm`` as a handset would (TS 23.038 / 23.040).

GSM 7-bit default alphabet when every character fits; else GSM 7-bit with the Turkish
single-shift table (UDH IE 0x24 = 1) when that fits; else UCS-2. Long texts become parts
with an 8-bit concatenation reference; an escape pair or a surrogate pair is never split.

Capacities (one PDU carries 140 octets = 160 septets; a UDH takes whole septets in 7-bit):

=======================  ==============  ==============================
                         single part     each part of a long message
=======================  ==============  ==============================
GSM 7-bit default        160 septets     153 (UDH 05 00 03 ref n i)
GSM 7-bit + Turkish      155 septets     149 (UDH adds 24 01 01)
UCS-2                    140 octets      134
=======================  ==============  ==============================

SMPP carries the septets unpacked (one per octet), after the UDH octets, as
:func:`smpp_bind.message.decode_message` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gsmcodecs  # noqa: F401  (registers the gsm23.038-* codecs)

TURKISH = 1
UDHI = 0x40
GSM_SEPTETS = 160
UCS2_OCTETS = 140


@dataclass(frozen=True)
class Segment:
    data_coding: int
    esm_class: int
    short_message: bytes


def _gsm_units(text: str, single_shift: int) -> list[bytes] | None:
    """Each character's septets (1, or 2 with an escape); None if a character does not fit."""
    codec = f"gsm23.038-0-{single_shift}"
    try:
        return [ch.encode(codec) for ch in text]
    except UnicodeEncodeError:
        return None


def _ucs2_units(text: str) -> list[bytes]:
    # a non-BMP character (emoji) is one 4-octet unit: its surrogate pair stays in one part
    try:
        return [ch.encode("utf-16-be") for ch in text]
    except UnicodeEncodeError as exc:
        raise ValueError(f"not valid Unicode (lone surrogate at {exc.start})") from exc


def _pack(units: list[bytes], capacity: int) -> list[bytes]:
    parts, current = [], b""
    for unit in units:
        if len(current) + len(unit) > capacity:
            parts.append(current)
            current = b""
        current += unit
    parts.append(current)
    return parts


def _udh(elements: bytes) -> bytes:
    return bytes([len(elements)]) + elements


def segment_text(text: str, *, reference: int) -> list[Segment]:
    """The ``submit_sm`` parts for ``text``, in order; one part when it fits.

    ``reference`` (0-255) is the concatenation reference shared by the parts. Raises
    ValueError for a reference out of range, for text needing more than 255 parts, and for
    text that is not valid Unicode (a lone surrogate cannot be sent as UCS-2).
    """
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"8-bit concatenation reference out of range: {reference}")
    shift_ie = b""
    units = _gsm_units(text, 0)
    if units is None and (units := _gsm_units(text, TURKISH)) is not None:
        shift_ie = bytes([0x24, 1, TURKISH])
    if units is not None:
        data_coding, capacity, unit_size = 0, GSM_SEPTETS, 7  # capacity in septets
    else:
        units, data_coding, capacity, unit_size = _ucs2_units(text), 8, UCS2_OCTETS, 8

    def room(udh_len: int) -> int:
        # the UDH (with its length octet) takes octets; in 7-bit it is padded to septets
        return capacity - ((udh_len * 8 + unit_size - 1) // unit_size if udh_len else 0)

    single_udh = _udh(shift_ie) if shift_ie else b""
    if sum(len(u) for u in units) <= room(len(single_udh)):
        esm = UDHI if single_udh else 0
        return [Segment(data_coding, esm, single_udh + b"".join(units))]
    concat_udh_len = len(_udh(shift_ie + bytes([0x00, 3, 0, 0, 0])))
    chunks = _pack(units, room(concat_udh_len))
    total = len(chunks)
    if total > 255:
        raise ValueError("text too long for one concatenated message")
    return [
        Segment(data_coding, UDHI,
                _udh(shift_ie + bytes([0x00, 3, reference, total, i])) + chunk)
        for i, chunk in enumerate(chunks, 1)
    ]

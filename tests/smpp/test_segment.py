"""smpp_bind.segment: confirmation replies split and encoded as a handset would.

Round trips go through the receiving side: each part is put in a deliver_sm, read with
``decode_message``, the payloads joined in order and decoded with ``decode_text``.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_bind import pdu
from smpp_bind.message import Message, decode_message, decode_text
from smpp_bind.segment import Segment, segment_text

UDHI = 0x40
TURKISH_SINGLE_SHIFT_IE = bytes([0x24, 1, 1])


def received(segment: Segment) -> Message:
    """The part as the other side reads it (one deliver_sm carrying the submit_sm's fields)."""
    body = (b"\x00" + b"\x01\x01905321234567\x00" + b"\x00\x014609\x00"
            + bytes([segment.esm_class, 0, 0]) + b"\x00\x00"
            + bytes([0, 0, segment.data_coding, 0, len(segment.short_message)])
            + segment.short_message)
    raw = struct.pack(">IIII", 16 + len(body), pdu.DELIVER_SM, 0, 1) + body
    return decode_message(pdu.parse_deliver_sm(raw))


def round_trip(segments: list[Segment]) -> str | None:
    parts = [received(s) for s in segments]
    first = parts[0]
    return decode_text(b"".join(p.payload for p in parts), first.data_coding,
                       locking_shift=first.locking_shift, single_shift=first.single_shift)


def septets(segment: Segment) -> int:
    """Septets one 7-bit part occupies on the air: the UDH padded to septets, then the text."""
    if not segment.esm_class & UDHI:
        return len(segment.short_message)
    udh_octets = segment.short_message[0] + 1
    return -(-udh_octets * 8 // 7) + len(segment.short_message) - udh_octets


@pytest.mark.parametrize(("text", "data_coding", "esm_class", "short_message"), [
    ("", 0, 0, b""),
    ("Tamam", 0, 0, b"Tamam"),
    ("RET kaydınız alındı", 0, UDHI,
     b"\x03\x24\x01\x01" + "RET kaydınız alındı".encode("gsm23.038-0-1")),  # ı: ESC 0x69
    ("İZİN ACME", 0, UDHI, b"\x03\x24\x01\x01" + "İZİN ACME".encode("gsm23.038-0-1")),
    ("RET Şeker", 0, UDHI, b"\x03\x24\x01\x01RET \x1bSeker"),
    ("Üyelik iptal: Ç ö ü é", 0, 0, "Üyelik iptal: Ç ö ü é".encode("gsm23.038-0-0")),
    ("{ACME} €5", 0, 0, b"\x1b(ACME\x1b) \x1be5"),                  # default escape table
    ("İZİN 👍", 8, 0, "İZİN 👍".encode("utf-16-be")),
    ("Привет", 8, 0, "Привет".encode("utf-16-be")),
    ("şâ", 8, 0, "şâ".encode("utf-16-be")),                          # â is in neither GSM table
])
def test_a_short_text_is_one_part_in_the_smallest_alphabet(text: str, data_coding: int,
                                                           esm_class: int,
                                                           short_message: bytes) -> None:
    assert segment_text(text, reference=9) == [Segment(data_coding, esm_class, short_message)]


@pytest.mark.parametrize(("text", "parts", "data_coding"), [
    ("a" * 160, 1, 0),
    ("a" * 161, 2, 0),
    ("a" * 153 * 2, 2, 0),
    ("a" * (153 * 2 + 1), 3, 0),
    ("€" * 80, 1, 0),                              # 160 septets: each € is ESC + e
    ("€" * 80 + "a", 2, 0),
    ("ş" * 77 + "a", 1, 0),                       # 154 + 1 septets after the shift UDH (5)
    ("ş" * 77 + "ab", 2, 0),                      # 156 > 155
    ("ş" * 148, 2, 0),                            # 149 septets per part: 74 ş, never 74.5
    ("ş" * 149, 3, 0),
    ("Ж" * 70, 1, 8),
    ("Ж" * 71, 2, 8),
    ("Ж" * 67 * 3, 3, 8),
    ("Ж" * (67 * 3 + 1), 4, 8),
    ("👍" * 35, 1, 8),                            # 140 octets
    ("👍" * 36, 2, 8),                            # 144 octets: 33 pairs (132 octets) + 3
    ("👍" * 67, 3, 8),                            # 33 + 33 + 1: a pair never straddles parts
])
def test_part_counts_follow_the_capacities(text: str, parts: int, data_coding: int) -> None:
    segments = segment_text(text, reference=1)
    assert (len(segments), {s.data_coding for s in segments}) == (parts, {data_coding})
    assert round_trip(segments) == text


@pytest.mark.parametrize("text", [
    "a" * 400,                                    # GSM default
    "€" * 200 + "a",                              # escape pairs at every boundary
    "ş" * 200,                                    # Turkish single shift: escape pairs
    "İZİN ACME şekerleme kampanyası için onayınız alınmıştır. " * 6,
    "👍" * 100,                                   # surrogate pairs at every boundary
    "Ж" + "👍" * 100,                             # shifted by one unit
])
def test_long_text_becomes_concatenated_parts_never_splitting_pairs(text: str) -> None:
    segments = segment_text(text, reference=200)
    parts = [received(s) for s in segments]
    assert len(segments) > 1
    assert all(s.esm_class == UDHI for s in segments)
    assert [(p.concat.reference, p.concat.total, p.concat.sequence, p.concat.scheme)
            for p in parts if p.concat] == [
        (200, len(segments), i, "udh8") for i in range(1, len(segments) + 1)]
    assert all(p.text is not None for p in parts)  # each part decodes alone: no pair was cut
    assert "".join(p.text or "" for p in parts) == text
    assert round_trip(segments) == text


def test_turkish_parts_each_carry_the_single_shift_ie() -> None:
    segments = segment_text("ş" * 200, reference=5)
    assert all(TURKISH_SINGLE_SHIFT_IE in s.short_message[1:s.short_message[0] + 1]
               for s in segments)
    assert {received(s).single_shift for s in segments} == {1}


@pytest.mark.parametrize("text", ["a" * 1000, "€" * 500, "ş" * 500, "İZİN ACME " * 90])
def test_gsm_parts_fit_in_160_septets(text: str) -> None:
    assert max(septets(s) for s in segment_text(text, reference=0)) <= 160


@pytest.mark.parametrize("text", ["Ж" * 500, "👍" * 300, "Ж👍" * 100])
def test_ucs2_parts_fit_in_140_octets(text: str) -> None:
    assert max(len(s.short_message) for s in segment_text(text, reference=0)) <= 140


@pytest.mark.parametrize(("text", "reference", "message"), [
    ("x", 256, "reference"),
    ("x", -1, "reference"),
    ("Ж" * (67 * 255 + 1), 1, "too long"),
    ("ok \ud83d", 1, "surrogate"),
])
def test_what_cannot_be_sent_is_refused(text: str, reference: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        segment_text(text, reference=reference)


def test_255_parts_is_the_most() -> None:
    assert len(segment_text("Ж" * 67 * 255, reference=1)) == 255


VALID_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=700)
TURKISH_ISH = st.text(st.sampled_from("abcçğıiİöşüÇĞÖŞÜ €{}[]~^|\\@$_\n👍Ж"), max_size=700)


@settings(max_examples=300)
@given(st.one_of(VALID_TEXT, TURKISH_ISH), st.integers(0, 255))
def test_any_text_segments_and_round_trips(text: str, reference: int) -> None:
    segments = segment_text(text, reference=reference)
    assert round_trip(segments) == text
    assert len(segments) == 1 or all(received(s).concat is not None for s in segments)
    assert all(len(s.short_message) <= 160 for s in segments)

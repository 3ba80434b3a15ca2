"""smpp_bind.message: what a deliver_sm carries, decoded from real PDU bytes.

Every case builds a whole deliver_sm by hand (SMPP 3.4 §4.6.1), parses it with
``pdu.parse_deliver_sm`` and decodes it, as the service does.
"""

from __future__ import annotations

import struct

import pytest

from smpp_bind import pdu
from smpp_bind.message import Concat, decode_message, decode_text, gsm_codec_name

SAR_REF, SAR_TOTAL, SAR_SEQ = 0x020C, 0x020E, 0x020F
MESSAGE_PAYLOAD, RECEIPTED_ID, MESSAGE_STATE = 0x0424, 0x001E, 0x0427
UDHI = 0x40


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def deliver(short_message: bytes = b"", *, esm_class: int = 0, data_coding: int = 0,
            tlvs: bytes = b"", source: str = "905321234567", dest: str = "4609") -> pdu.DeliverSm:
    body = (
        b"\x00"                                   # service_type
        + bytes([1, 1]) + source.encode() + b"\x00"
        + bytes([0, 1]) + dest.encode() + b"\x00"
        + bytes([esm_class, 0, 0])                # esm_class, protocol_id, priority_flag
        + b"\x00\x00"                             # schedule_delivery_time, validity_period
        + bytes([0, 0, data_coding, 0, len(short_message)]) + short_message + tlvs
    )
    raw = struct.pack(">IIII", 16 + len(body), pdu.DELIVER_SM, 0, 7) + body
    return pdu.parse_deliver_sm(raw)


def udh(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return bytes([len(body)]) + body


CONCAT8 = bytes([0x00, 3, 0x2A, 3, 2])              # ref 42, part 2 of 3
CONCAT16 = bytes([0x08, 4, 0x12, 0x34, 2, 1])       # ref 0x1234, part 1 of 2
TURKISH_SINGLE = bytes([0x24, 1, 1])
TURKISH_LOCKING = bytes([0x25, 1, 1])

# "İZİN ACME" / "RET Şeker" as a handset sends them, in unpacked septets
IZIN_SINGLE_SHIFT = bytes.fromhex("1b495a1b494e2041434d45")   # İ = ESC 0x49 in A.2.1
RET_SEKER_SINGLE_SHIFT = bytes.fromhex("524554201b53656b6572")  # Ş = ESC 0x53
IZIN_LOCKING_SHIFT = bytes.fromhex("405a404e2041434d45")       # İ = 0x40 in A.3.1
RET_SEKER_LOCKING_SHIFT = bytes.fromhex("524554201c656b6572")   # Ş = 0x1C
ALL_TURKISH = "şğıİçŞĞ"


# -- esm_class: the message type ---------------------------------------------------------

@pytest.mark.parametrize(("esm_class", "kind"), [
    (0x00, "mo"),
    (0x03, "mo"),                          # messaging mode bits 0-1 do not change the type
    (0x80 | 0x40, "mo"),                   # reply path and UDHI neither
    (0x04, "delivery_receipt"),
    (0x08, "user_ack"),                    # SME delivery acknowledgement
    (0x10, "manual_ack"),                  # SME manual/user acknowledgement
    (0x18, "conversation_abort"),
    (0x20, "intermediate_notification"),
    (0x0C, "unknown"),                     # reserved: neither text nor receipt
    (0x3C, "unknown"),
])
def test_esm_class_bits_2_to_5_give_the_kind(esm_class: int, kind: str) -> None:
    short_message = b"\x00" if esm_class & UDHI else b"hi"
    assert decode_message(deliver(short_message, esm_class=esm_class)).kind == kind


# -- data_coding: the text of one PDU ----------------------------------------------------

EMOJI_UCS2 = "RET ACME 👍".encode("utf-16-be")

@pytest.mark.parametrize(("data_coding", "payload", "encoding", "text"), [
    (0x00, b"RET ACME", "gsm7", "RET ACME"),
    (0x00, bytes.fromhex("00021b65"), "gsm7", "@$€"),              # GSM-specific code points
    (0x00, bytes([0x80]), "gsm7", None),                             # not a septet
    (0x00, b"RET\x1b", "gsm7", None),                                # escape with nothing after
    (0x00, b"\x1b\x41", "gsm7", None),                               # escape to an empty slot
    (0x01, b"IZIN ACME", "ascii", "IZIN ACME"),
    (0x01, "İZİN".encode("latin-1", "replace"), "ascii", "?Z?N"),
    (0x01, "ÇIK".encode("latin-1"), "ascii", None),                  # not IA5
    (0x03, "RET Café".encode("latin-1"), "latin1", "RET Café"),
    (0x08, "İZİN ACME".encode("utf-16-be"), "ucs2", "İZİN ACME"),
    (0x08, "RET Şeker".encode("utf-16-be"), "ucs2", "RET Şeker"),
    (0x08, ALL_TURKISH.encode("utf-16-be"), "ucs2", ALL_TURKISH),
    (0x08, EMOJI_UCS2, "ucs2", "RET ACME 👍"),                       # surrogate pair
    (0x08, EMOJI_UCS2[:-1], "ucs2", None),                           # odd length
    (0x08, EMOJI_UCS2[:-2], "ucs2", None),                           # lone high surrogate
    (0x02, b"\x01\x02\xff", "binary", None),
    (0x04, b"\x01\x02\xff", "binary", None),
    (0xF0, b"RET ACME", "gsm7", "RET ACME"),                         # DCS group 1111, class 0
    (0xF3, b"RET ACME", "gsm7", "RET ACME"),                         # ... class 3
    (0xF4, b"RET ACME", "binary", None),                             # bit 2: 8-bit data
    (0xF7, b"RET ACME", "binary", None),
    (0x05, b"RET ACME", "unknown", None),                            # JIS: never guessed
    (0x06, b"RET ACME", "unknown", None),                            # Cyrillic
    (0x07, b"RET ACME", "unknown", None),                            # Latin/Hebrew
    (0x09, b"RET ACME", "unknown", None),
    (0x0E, b"RET ACME", "unknown", None),
    (0xC0, b"RET ACME", "unknown", None),                            # message waiting groups
])
def test_data_coding_decides_encoding_and_text(data_coding: int, payload: bytes, encoding: str,
                                               text: str | None) -> None:
    m = decode_message(deliver(payload, data_coding=data_coding))
    assert (m.data_coding, m.encoding, m.text, m.payload) == (data_coding, encoding, text, payload)


@pytest.mark.parametrize(("gsm_as_latin1", "payload", "encoding", "text"), [
    (False, b"RET @ACME\x05", "gsm7", "RET \u00a1ACME\u00e9"),   # GSM: 0x40 is ¡, 0x05 is é
    (True, b"RET @ACME\xe9", "latin1", "RET @ACME\u00e9"),
    (True, b"RET \x1b\x53", "latin1", "RET \x1bS"),            # no escape tables in Latin-1
])
def test_gsm_as_latin1_reads_data_coding_0_as_latin1(gsm_as_latin1: bool, payload: bytes,
                                                     encoding: str, text: str) -> None:
    m = decode_message(deliver(payload), gsm_as_latin1=gsm_as_latin1)
    assert (m.encoding, m.text) == (encoding, text)


@pytest.mark.parametrize("data_coding", [0x03, 0x08, 0xF0, 0x02])
def test_gsm_as_latin1_changes_only_data_coding_0(data_coding: int) -> None:
    payload = "Şe".encode("utf-16-be")
    plain = decode_message(deliver(payload, data_coding=data_coding))
    assert decode_message(deliver(payload, data_coding=data_coding), gsm_as_latin1=True) == plain


# -- UDH: concatenation and national language shift tables -------------------------------

@pytest.mark.parametrize(("elements", "text_septets", "text", "locking", "single"), [
    ((TURKISH_SINGLE,), IZIN_SINGLE_SHIFT, "İZİN ACME", 0, 1),
    ((TURKISH_SINGLE,), RET_SEKER_SINGLE_SHIFT, "RET Şeker", 0, 1),
    ((TURKISH_SINGLE,), ALL_TURKISH.encode("gsm23.038-0-1"), ALL_TURKISH, 0, 1),
    ((TURKISH_LOCKING,), IZIN_LOCKING_SHIFT, "İZİN ACME", 1, 0),
    ((TURKISH_LOCKING,), RET_SEKER_LOCKING_SHIFT, "RET Şeker", 1, 0),
    ((TURKISH_LOCKING,), ALL_TURKISH.encode("gsm23.038-1-0"), ALL_TURKISH, 1, 0),
    ((TURKISH_LOCKING, TURKISH_SINGLE), ALL_TURKISH.encode("gsm23.038-1-1"), ALL_TURKISH, 1, 1),
    # without the IE the same septets mean something else: the default tables
    ((), IZIN_LOCKING_SHIFT, "¡Z¡N ACME", 0, 0),
    # Spanish (2) has a single-shift table but no locking table: default locking is used
    ((bytes([0x25, 1, 2]), bytes([0x24, 1, 2])), "ÁÍ".encode("gsm23.038-0-2"), "ÁÍ", 2, 2),
    # a language id gsmcodecs has no table for (14): the default table (TS 23.040)
    ((bytes([0x25, 1, 14]), bytes([0x24, 1, 14])), b"RET\x1b\x65", "RET€", 14, 14),
])
def test_shift_table_ies_select_the_national_alphabet(elements: tuple[bytes, ...],
                                                      text_septets: bytes, text: str,
                                                      locking: int, single: int) -> None:
    m = decode_message(deliver(udh(*elements) + text_septets, esm_class=UDHI))
    assert (m.text, m.locking_shift, m.single_shift) == (text, locking, single)
    assert (m.payload, m.udh, m.encoding) == (text_septets, b"".join(elements), "gsm7")


@pytest.mark.parametrize(("user_data", "tlvs", "concat"), [
    (udh(CONCAT8) + b"RET", b"", Concat(42, 3, 2, "udh8")),
    (udh(CONCAT16) + b"RET", b"", Concat(0x1234, 2, 1, "udh16")),
    (udh(TURKISH_SINGLE, CONCAT8) + b"RET", b"", Concat(42, 3, 2, "udh8")),
    (udh(bytes([0x70, 2, 9, 9]), CONCAT8) + b"RET", b"", Concat(42, 3, 2, "udh8")),  # unknown IE
    (udh(bytes([0x00, 3, 1, 2, 1]), bytes([0x00, 3, 7, 2, 2])) + b"RET", b"",
     Concat(7, 2, 2, "udh8")),                                                 # last one counts
    (udh(bytes([0x00, 3, 42, 0, 0])) + b"RET", b"", None),                     # total 0
    (udh(bytes([0x00, 3, 42, 2, 0])) + b"RET", b"", None),                     # sequence 0
    (udh(bytes([0x00, 3, 42, 2, 3])) + b"RET", b"", None),                     # 3 of 2
    (udh(bytes([0x00, 4, 42, 2, 1, 0])) + b"RET", b"", None),                  # wrong IE length
    (udh(bytes([0x08, 3, 42, 2, 1])) + b"RET", b"", None),
    (b"RET", tlv(SAR_REF, b"\xab\xcd") + tlv(SAR_TOTAL, b"\x03") + tlv(SAR_SEQ, b"\x03"),
     Concat(0xABCD, 3, 3, "sar")),
    (b"RET", tlv(SAR_REF, b"\x01") + tlv(SAR_TOTAL, b"\x03") + tlv(SAR_SEQ, b"\x01"), None),
    (b"RET", tlv(SAR_REF, b"\x00\x01") + tlv(SAR_TOTAL, b"\x02") + tlv(SAR_SEQ, b"\x04"), None),
    (b"RET", tlv(SAR_REF, b"\x00\x01") + tlv(SAR_TOTAL, b"\x02"), None),        # no seq
    (b"RET", b"", None),
])
def test_concatenation_from_udh_or_sar_tlvs(user_data: bytes, tlvs: bytes,
                                            concat: Concat | None) -> None:
    esm_class = UDHI if user_data != b"RET" else 0
    m = decode_message(deliver(user_data, esm_class=esm_class, tlvs=tlvs))
    assert (m.concat, m.payload, m.text) == (concat, b"RET", "RET")


def test_udh_concatenation_wins_over_sar_tlvs() -> None:
    sar = tlv(SAR_REF, b"\x00\x09") + tlv(SAR_TOTAL, b"\x05") + tlv(SAR_SEQ, b"\x05")
    m = decode_message(deliver(udh(CONCAT8) + b"RET", esm_class=UDHI, tlvs=sar))
    assert m.concat == Concat(42, 3, 2, "udh8")


def test_udh_octets_are_not_read_as_text_without_udhi() -> None:
    user_data = udh(CONCAT8) + b"RET"
    m = decode_message(deliver(user_data, esm_class=0, data_coding=0x03))
    assert (m.concat, m.udh, m.payload) == (None, b"", user_data)


def test_ucs2_parts_keep_their_udh_out_of_the_text() -> None:
    m = decode_message(deliver(udh(CONCAT16) + "İZİN".encode("utf-16-be"), esm_class=UDHI,
                               data_coding=8))
    assert (m.text, m.concat, m.udh) == ("İZİN", Concat(0x1234, 2, 1, "udh16"), CONCAT16)


def test_empty_udh_is_a_udh_with_no_elements() -> None:
    m = decode_message(deliver(b"\x00RET", esm_class=UDHI))
    assert (m.udh, m.payload, m.text, m.concat) == (b"", b"RET", "RET", None)


@pytest.mark.parametrize("user_data", [
    b"",                                          # UDHI but no user data at all
    b"\x05\x00\x03\x2a",                          # UDH length past the data
    udh(bytes([0x00, 3, 42, 3])) + b"RET",        # an IE running past the UDH
    udh(bytes([0x00])) + b"RET",                  # an IE header cut in half
    b"\xff" + b"RET ACME",
])
def test_malformed_udh_keeps_the_raw_user_data_and_gives_no_text(user_data: bytes) -> None:
    m = decode_message(deliver(user_data, esm_class=UDHI))
    assert (m.encoding, m.text, m.payload, m.udh, m.concat) == (
        "unknown", None, user_data, b"", None)
    assert (m.locking_shift, m.single_shift, m.kind) == (0, 0, "mo")


# -- message_payload TLV -----------------------------------------------------------------

def test_message_payload_of_600_characters_replaces_an_empty_short_message() -> None:
    text = ("İZİN ACME şğıİçŞĞ 👍 " * 40)[:600]
    m = decode_message(deliver(b"", data_coding=8, tlvs=tlv(MESSAGE_PAYLOAD,
                                                              text.encode("utf-16-be"))))
    assert (m.text, len(m.payload), m.concat) == (text, len(text.encode("utf-16-be")), None)


def test_message_payload_in_gsm7_may_carry_a_udh() -> None:
    septets = ("RET ACME " * 67)[:600].encode("gsm23.038-0-0")
    m = decode_message(deliver(b"", esm_class=UDHI,
                               tlvs=tlv(MESSAGE_PAYLOAD, udh(TURKISH_SINGLE) + septets)))
    assert (m.text, m.single_shift, len(m.payload)) == (("RET ACME " * 67)[:600], 1, 600)


def test_message_payload_wins_over_short_message() -> None:
    m = decode_message(deliver(b"IZIN ACME", tlvs=tlv(MESSAGE_PAYLOAD, b"RET ACME")))
    assert m.text == "RET ACME"


def test_unknown_tlvs_are_kept_out_of_the_way() -> None:
    m = decode_message(deliver(b"RET ACME", tlvs=tlv(0x1401, b"vendor") + tlv(0x0005, b"\x01")))
    assert (m.text, m.concat, m.receipt) == ("RET ACME", None, None)


# -- receipts ----------------------------------------------------------------------------

RECEIPT = (b"id:0A1B2C3D sub:001 dlvrd:001 submit date:2411231530 done date:2411231531 "
           b"stat:DELIVRD err:000 text:RET ACME stat:x")


@pytest.mark.parametrize(("esm_class", "short_message", "data_coding", "tlvs", "receipt"), [
    (0x04, RECEIPT, 0, b"", {
        "id": "0A1B2C3D", "sub": "001", "dlvrd": "001", "submit_date": "2411231530",
        "done_date": "2411231531", "stat": "DELIVRD", "err": "000", "text": "RET ACME stat:x"}),
    (0x04, b"id:ab_12 Sub:1 DLVRD:0 Submit Date:2411231530 stat:UNDELIV err:12", 0, b"",
     {"id": "ab_12", "sub": "1", "dlvrd": "0", "submit_date": "2411231530", "stat": "UNDELIV",
      "err": "12"}),                                          # '_' is read as octets, not GSM
    (0x20, b"id:7 stat:ENROUTE", 8, b"", {}),                  # UCS-2 octets: text is not ASCII
    (0x20, "id:7 stat:ENROUTE".encode("utf-16-be"), 8, b"", {"id": "7", "stat": "ENROUTE"}),
    (0x04, b"", 0, tlv(RECEIPTED_ID, b"0A1B2C3D\x00") + tlv(MESSAGE_STATE, b"\x02"),
     {"receipted_message_id": "0A1B2C3D", "message_state": "2"}),
    (0x04, b"id:1 stat:DELIVRD", 0, tlv(RECEIPTED_ID, b"0A1B\x00"),
     {"id": "1", "stat": "DELIVRD", "receipted_message_id": "0A1B"}),
    (0x04, b"no fields here", 0, b"", {}),
])
def test_receipts_are_parsed_from_text_and_tlvs(esm_class: int, short_message: bytes,
                                                data_coding: int, tlvs: bytes,
                                                receipt: dict[str, str]) -> None:
    m = decode_message(deliver(short_message, esm_class=esm_class, data_coding=data_coding,
                               tlvs=tlvs))
    assert m.receipt == receipt


@pytest.mark.parametrize("esm_class", [0x00, 0x08, 0x10, 0x18, 0x0C])
def test_only_receipts_and_notifications_carry_a_receipt(esm_class: int) -> None:
    assert decode_message(deliver(RECEIPT, esm_class=esm_class)).receipt is None


def test_receipt_text_is_still_decoded_as_text() -> None:
    m = decode_message(deliver(RECEIPT, esm_class=0x04))
    assert (m.kind, m.text) == ("delivery_receipt", RECEIPT.decode("ascii"))


def test_receipt_with_malformed_udh_keeps_its_tlvs() -> None:
    m = decode_message(deliver(b"\x09id:1", esm_class=0x04 | UDHI,
                               tlvs=tlv(MESSAGE_STATE, b"\x05")))
    assert (m.text, m.receipt) == (None, {"message_state": "5"})


# -- decode_text on joined payloads ------------------------------------------------------

@pytest.mark.parametrize(("parts", "data_coding", "locking", "single", "text"), [
    ([b"RET \x1b", b"\x53eker"], 0, 0, 1, "RET Şeker"),        # escape pair split by a sender
    (["RET 👍".encode("utf-16-be")[:-2], "👍".encode("utf-16-be")[2:]], 8, 0, 0, "RET 👍"),
    ([b"IZIN ", b"ACME"], 1, 0, 0, "IZIN ACME"),
    ([b"\x01", b"\x02"], 2, 0, 0, None),
    ([b"RET ", b"ACME"], 0x11, 0, 0, None),
])
def test_decode_text_reads_the_joined_payload_of_all_parts(parts: list[bytes], data_coding: int,
                                                           locking: int, single: int,
                                                           text: str | None) -> None:
    joined = b"".join(parts)
    assert decode_text(joined, data_coding, locking_shift=locking, single_shift=single) == text


def test_each_part_alone_may_be_undecodable_while_the_whole_is_not() -> None:
    first = decode_message(deliver(udh(CONCAT8, TURKISH_SINGLE) + b"RET \x1b", esm_class=UDHI))
    assert (first.text, first.payload, first.single_shift) == (None, b"RET \x1b", 1)


@pytest.mark.parametrize(("locking", "single", "codec"), [
    (0, 0, "gsm23.038-0-0"), (1, 1, "gsm23.038-1-1"), (0, 1, "gsm23.038-0-1"),
    (1, 0, "gsm23.038-1-0"), (2, 2, "gsm23.038-0-2"), (14, 1, "gsm23.038-0-1"),
    (1, 200, "gsm23.038-1-0"), (255, 255, "gsm23.038-0-0"),
])
def test_language_ids_without_a_table_fall_back_to_the_default_one(locking: int, single: int,
                                                                   codec: str) -> None:
    assert gsm_codec_name(locking, single) == codec
    assert b"RET".decode(codec) == "RET"

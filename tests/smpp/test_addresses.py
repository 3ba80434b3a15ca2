"""smpp_bind.addresses: senders as E.164, destinations as digits, numbers masked for logs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_bind.addresses import mask_msisdn, normalise_destination, normalise_sender

UNKNOWN, INTERNATIONAL, NATIONAL, NETWORK, SUBSCRIBER, ALPHANUMERIC = 0, 1, 2, 3, 4, 5
ISDN = 1


@pytest.mark.parametrize(("source_addr", "ton", "npi", "expected"), [
    # the same Turkish mobile, every way SMSCs write it
    ("905321234567", INTERNATIONAL, ISDN, "+905321234567"),
    ("+905321234567", INTERNATIONAL, ISDN, "+905321234567"),
    ("00905321234567", INTERNATIONAL, ISDN, "+905321234567"),
    ("905321234567", UNKNOWN, ISDN, "+905321234567"),
    ("905321234567", UNKNOWN, 0, "+905321234567"),
    ("05321234567", NATIONAL, ISDN, "+905321234567"),
    ("5321234567", NATIONAL, ISDN, "+905321234567"),
    ("05321234567", UNKNOWN, ISDN, "+905321234567"),
    ("5321234567", UNKNOWN, 0, "+905321234567"),
    ("00905321234567", UNKNOWN, ISDN, "+905321234567"),
    ("+905321234567", UNKNOWN, 0, "+905321234567"),         # a '+' is international anyway
    ("+905321234567", NATIONAL, ISDN, "+905321234567"),
    (" 905321234567 ", INTERNATIONAL, ISDN, "+905321234567"),
    ("5321234567", SUBSCRIBER, ISDN, "+905321234567"),
    # other valid numbers
    ("4915123456789", INTERNATIONAL, ISDN, "+4915123456789"),  # a German mobile
    ("02121234567", NATIONAL, ISDN, "+902121234567"),          # an Istanbul line
    # alphanumeric senders are never numbers
    ("ACME", ALPHANUMERIC, 0, None),
    ("905321234567", ALPHANUMERIC, 0, None),
    ("ACME", UNKNOWN, 0, None),                                # letters with a numeric TON
    ("1-800-FLOWERS", UNKNOWN, ISDN, None),                    # vanity numbers are not dialled
    # invalid, impossible or too short
    ("", INTERNATIONAL, ISDN, None),
    ("+", INTERNATIONAL, ISDN, None),
    ("++905321234567", INTERNATIONAL, ISDN, None),
    ("4609", UNKNOWN, ISDN, None),                             # a short code
    ("4609", INTERNATIONAL, ISDN, None),
    ("532123456", NATIONAL, ISDN, None),                       # one digit short
    ("53212345678", NATIONAL, ISDN, None),                     # one digit long
    ("05321234567", INTERNATIONAL, ISDN, None),                # national digits, TON 1
    ("900000000000", INTERNATIONAL, ISDN, None),               # no such range
    ("90532123456x", INTERNATIONAL, ISDN, None),
    ("90 532 123 45 67", INTERNATIONAL, ISDN, None),           # not what SMPP carries
    ("９０５３２１２３４５６７", INTERNATIONAL, ISDN, None),     # full-width digits
    ("٩٠٥٣٢١٢٣٤٥٦٧", INTERNATIONAL, ISDN, None),               # Arabic-Indic digits
])
def test_sender_is_e164_or_none(source_addr: str, ton: int, npi: int,
                                expected: str | None) -> None:
    assert normalise_sender(source_addr, ton, npi) == expected


@given(st.text(max_size=25), st.integers(0, 6), st.integers(0, 18))
def test_sender_normalisation_never_raises_and_gives_e164(source_addr: str, ton: int,
                                                          npi: int) -> None:
    result = normalise_sender(source_addr, ton, npi)
    assert result is None or (result.startswith("+") and result[1:].isascii()
                              and result[1:].isdigit() and len(result) <= 16)


@pytest.mark.parametrize(("destination_addr", "expected"), [
    ("4609", "4609"),
    ("908505320000", "908505320000"),
    ("+908505320000", "908505320000"),
    ("08505320000", "08505320000"),                            # kept as given, no guessing
    (" 0850 532 00 00 ", "08505320000"),
    ("", ""),
    ("٤٦٠٩", ""),                                              # only ASCII digits are digits
])
def test_destination_is_digits_only(destination_addr: str, expected: str) -> None:
    assert normalise_destination(destination_addr) == expected


@pytest.mark.parametrize(("value", "masked"), [
    ("+905321234567", "+90532*****67"),
    ("905321234567", "90532*****67"),
    ("05321234567", "0532*****67"),
    ("5321234567", "532*****67"),
    ("+4915123456789", "+49151******89"),
    ("1234567", "12*****"),
    ("123456", "1*****"),
    ("12345", "*****"),
    ("4609", "****"),
    ("+", "*"),
    ("+90", "***"),
    ("ACMEBANK", "ACM*****"),
    ("", ""),
])
def test_masking(value: str, masked: str) -> None:
    assert mask_msisdn(value) == masked


@given(st.text(min_size=1, max_size=30))
def test_masking_never_shows_a_value_whole(value: str) -> None:
    masked = mask_msisdn(value)
    assert masked != value or set(value) == {"*"}
    assert len(masked) == len(value)
    assert masked.count("*") >= min(5, len(value))

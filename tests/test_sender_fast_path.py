"""The Turkish-mobile fast path of normalise_sender agrees with libphonenumber."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_bind import addresses


def full_path(digits: str) -> str | None:
    number = phonenumbers.parse("+" + digits, None)
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@given(st.integers(min_value=5_000_000_000, max_value=5_999_999_999))
@settings(max_examples=2000)
def test_fast_path_never_disagrees_with_libphonenumber(national: int) -> None:
    digits = f"90{national}"
    fast = addresses._fast_tr_mobile(digits, international=True)
    if fast is not None:
        assert fast == full_path(digits)


def test_fast_path_covers_the_common_operators() -> None:
    for prefix in ("530", "532", "542", "505", "555"):
        assert addresses._fast_tr_mobile(f"90{prefix}1234567", True) == f"+90{prefix}1234567"

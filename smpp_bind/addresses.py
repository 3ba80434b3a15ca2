"""Phone numbers: the sender as E.164 (what İYS wants), the number called, and masking for logs.

Pure functions; Turkey (``TR``) is the default region for numbers without a country code.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
TON_NATIONAL = 2
TON_ALPHANUMERIC = 5
DEFAULT_REGION = "TR"
_DIGITS = frozenset("0123456789")
_SHOWN_AT_MOST = 7  # "+90532*****67": country code and operator prefix, and the last two
_HIDDEN_AT_LEAST = 5


def _valid_tr_mobile_prefixes() -> frozenset[str]:
    """The 4-digit national prefixes (5XXX) that libphonenumber accepts as Turkish mobiles.

    Its Turkish mobile pattern is decided by the first four digits; computing the set once
    lets the hot path skip a full parse for the common sender (``90 5XX XXX XX XX``).
    """
    valid = set()
    for prefix in range(5000, 6000):
        number = phonenumbers.parse(f"+90{prefix}123456", None)
        if phonenumbers.is_valid_number(number) and all(
                phonenumbers.is_valid_number(phonenumbers.parse(f"+90{prefix}{tail}", None))
                for tail in ("000000", "999999")):
            valid.add(str(prefix))
    return frozenset(valid)


_TR_MOBILE = _valid_tr_mobile_prefixes()


def _fast_tr_mobile(digits: str, international: bool) -> str | None:
    """``+905…`` when ``digits`` is plainly a Turkish mobile number, else None (ask
    libphonenumber)."""
    if international and len(digits) == 12 and digits.startswith("90"):
        national = digits[2:]
    elif not international and len(digits) == 11 and digits.startswith("05"):
        national = digits[1:]
    elif not international and len(digits) == 10:
        national = digits
    else:
        return None
    return "+90" + national if national[:4] in _TR_MOBILE else None


@lru_cache(maxsize=65536)
def normalise_sender(source_addr: str, ton: int, npi: int) -> str | None:
    """``+905321234567`` for a valid sender; None for alphanumeric, invalid or impossible ones.

    SMSCs send the same sender as ``905321234567`` (TON 1, and often TON 0), ``05321234567``
    or ``5321234567`` (TON 2 or 0), ``+905321234567`` or ``00905321234567``. The NPI is not
    used: SMSCs set it inconsistently and the digits settle the question. Only ASCII digits
    (after one optional ``+``) are accepted, so a letter or a vanity number is never dialled.
    """
    if ton == TON_ALPHANUMERIC:
        return None
    raw = source_addr.strip()
    digits = raw.removeprefix("+")
    if not digits or not set(digits) <= _DIGITS:
        return None
    international = raw.startswith("+") or ton == TON_INTERNATIONAL or (
        ton == TON_UNKNOWN and digits.startswith("90") and len(digits) == 12)
    if (fast := _fast_tr_mobile(digits, international)) is not None:
        return fast
    if raw.startswith("+") or ton == TON_INTERNATIONAL:
        candidate = "+" + digits.removeprefix("00")
    elif ton == TON_UNKNOWN and digits.startswith("90") and len(digits) == 12:
        candidate = "+" + digits  # international format without the TON saying so
    else:
        candidate = digits
    try:
        number = phonenumbers.parse(candidate, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_destination(destination_addr: str) -> str:
    """The number called, ASCII digits only: ``4609``, ``+908505320000`` → ``908505320000``."""
    return "".join(ch for ch in destination_addr if ch in _DIGITS)


def mask_msisdn(value: str) -> str:
    """``+905321234567`` → ``+90532*****67``, for logs; never returns a value whole.

    At least five characters are hidden, at most seven shown (the first ones, and the last two
    when four or more are shown); five or fewer are all hidden, ``+`` included. Any string is
    accepted (an alphanumeric sender is masked the same way).
    """
    plus = "+" if value.startswith("+") else ""
    rest = value.removeprefix("+")
    if len(rest) <= _HIDDEN_AT_LEAST:
        return "*" * len(value)
    shown = min(_SHOWN_AT_MOST, len(rest) - _HIDDEN_AT_LEAST)
    tail = 2 if shown >= 4 else 0
    head = shown - tail
    return plus + rest[:head] + "*" * (len(rest) - shown) + rest[len(rest) - tail:]

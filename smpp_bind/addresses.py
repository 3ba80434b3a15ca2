"""Phone numbers: the sender as E.164 (what İYS wants) and masked for logs."""

from __future__ import annotations

import phonenumbers

TON_INTERNATIONAL = 1
TON_ALPHANUMERIC = 5


def normalise_sender(source_addr: str, ton: int, npi: int) -> str | None:
    """``+905321234567`` for a usable mobile sender; None for alphanumeric or impossible ones.

    SMSCs send the same sender as ``905321234567`` (TON 1), ``05321234567`` (TON 2/0) or
    ``5321234567``; some omit the TON. Turkey is the default region.
    """
    if ton == TON_ALPHANUMERIC or not source_addr:
        return None
    raw = source_addr.strip()
    digits = raw.lstrip("+")
    if not digits.isdigit():
        return None
    if raw.startswith("+") or ton == TON_INTERNATIONAL or (
            digits.startswith("90") and len(digits) == 12):
        candidate = "+" + digits.removeprefix("00")
    else:
        candidate = digits
    try:
        number = phonenumbers.parse(candidate, "TR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_destination(destination_addr: str) -> str:
    """Digits only: ``4609``, ``908505320000``."""
    return "".join(ch for ch in destination_addr if ch.isdigit())


def mask_msisdn(value: str) -> str:
    """``+905321234567`` → ``+90532*****67``; short values are masked too, never shown whole."""
    if not value:
        return ""
    prefix = "+" if value.startswith("+") else ""
    digits = value.lstrip("+")
    if len(digits) <= 6:
        return prefix + "*" * len(digits)
    head = 5 if len(digits) >= 12 else 3
    return prefix + digits[:head] + "*" * (len(digits) - head - 2) + digits[-2:]

"""What İYS would refuse for ever in one consent, as one function for every caller (pure).

The pusher checks each claimed event before sending it (``retry.prevalidate``); the API, the
CLI and the web form check each consent before storing it (``inbound.consents``). Both call
``refusals`` so that nothing is stored that the pusher would then fail, and nothing is sent
that İYS would refuse (every 4xx counts against the IP's success ratio, IYS_API.md §6).
The rules are IYS_API.md §3: recipient formats per type (§3.1), ``HS_*`` sources (§3.3), the
dates (§3.4) and the source rules of §3.5 that need no state.

Recipients are normalised first (``normalise_recipient``): a Turkish number in any common
form (``0532 123 45 67``, ``532…``, ``+90 (532) …``, ``90532…``, even the ``+9005…`` pitfall
of §2.1) becomes ``+905321234567``; an e-mail address is lower-cased, as İYS stores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from iys_push import calendar
from iys_push.timefmt import TR

TYPES = ("MESAJ", "ARAMA", "EPOSTA")
PHONE_TYPES = ("MESAJ", "ARAMA")
STATUSES = ("ONAY", "RET")
RECIPIENT_TYPES = ("BIREYSEL", "TACIR")
# §3.3: the values a service provider may send (the full list of H119)
HS_SOURCES = ("HS_WEB", "HS_MOBIL", "HS_CAGRI_MERKEZI", "HS_ISLAK_IMZA", "HS_EPOSTA",
              "HS_FIZIKSEL_ORTAM", "HS_ETKINLIK", "HS_ATM", "HS_EORTAM", "HS_MESAJ",
              "HS_SOSYAL_MEDYA", "HS_KARAR", "HS_2015")
EARLIEST = datetime(2015, 5, 1, tzinfo=TR)
TR_MOBILE = re.compile(r"\+905[0-9]{9}")        # MESAJ: a Turkish mobile, never +9005…
TR_PHONE = re.compile(r"\+90[1-9][0-9]{9}")     # ARAMA may be a fixed line
# §3.1: ASCII, no spaces, no specials but . _ % + -, at least x@xx.xx, 6 to 265 characters
EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}")
EMAIL_LENGTH = (6, 265)
_PHONE_CHARS = re.compile(r"[0-9+() .-]+")

HS_2015_EXPLAINED = ("HS_2015 means 'approved before 1 May 2015' and İYS takes it only with "
                     "the date 2015-05-01 00:00:00 (H155), which the three-business-day rule "
                     "(H467) now always refuses: such a consent can no longer be recorded")


@dataclass(frozen=True)
class Refusal:
    """One reason İYS would refuse a consent: the field at fault, İYS's code when one
    applies, the pusher's local code, and an explanation for a person."""

    field: str
    code: str | None
    local: str
    reason: str


def normalise_recipient(raw: str, type_: str) -> str | None:
    """The recipient as İYS wants it for ``type_``, or None when it cannot be one: a Turkish
    phone number as E.164 ``+90…`` (MESAJ: a mobile; ARAMA: mobile or fixed line, valid in
    libphonenumber's numbering plan), or a lower-cased e-mail address (EPOSTA)."""
    value = raw.strip()
    if type_ == "EPOSTA":
        value = value.lower()
        ok = EMAIL.fullmatch(value) and EMAIL_LENGTH[0] <= len(value) <= EMAIL_LENGTH[1]
        return value if ok else None
    if not _PHONE_CHARS.fullmatch(value) or len(value) > 25:
        return None
    digits = re.sub(r"[^0-9]", "", value)
    if value.startswith("+"):
        text = "+" + digits
    elif digits.startswith("00"):
        text = "+" + digits[2:]
    elif digits.startswith("90") and len(digits) >= 12:
        text = "+" + digits
    else:
        text = digits
    try:
        number = phonenumbers.parse(text, "TR")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 90 or not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    pattern = TR_MOBILE if type_ == "MESAJ" else TR_PHONE
    return e164 if pattern.fullmatch(e164) else None


def recipient_fits(recipient: str, type_: str) -> bool:
    """Whether an already normalised recipient has the form İYS wants for ``type_``."""
    if type_ == "EPOSTA":
        return bool(EMAIL.fullmatch(recipient)) and (
            EMAIL_LENGTH[0] <= len(recipient) <= EMAIL_LENGTH[1])
    pattern = TR_MOBILE if type_ == "MESAJ" else TR_PHONE
    return bool(pattern.fullmatch(recipient))


def recipient_refusal(type_: str) -> Refusal:
    if type_ == "EPOSTA":
        return Refusal("recipient", "H120", "LOCAL_RECIPIENT",
                       "not an e-mail address İYS accepts (ASCII, no spaces or special "
                       "characters, 6 to 265 characters; H120)")
    what = "a Turkish mobile number" if type_ == "MESAJ" else "a Turkish phone number"
    return Refusal("recipient", "H121", "LOCAL_RECIPIENT",
                   f"type {type_} needs {what} (0532 123 45 67, +905321234567 …) that exists "
                   "in the national numbering plan (H121)")


def refusals(*, recipient: str, type_: str, status: str, source: str, consent_date: datetime,
             now: datetime, intake: bool, window: bool = True) -> list[Refusal]:
    """Every reason İYS would refuse this consent for ever (empty: none).

    ``recipient`` is normalised already. ``intake``: the consent is being recorded now from a
    person's input (the API, the CLI, the page), so a date in the future is refused too (H162);
    the pusher (``intake=False``) only sees stored events, whose date may have been moved a
    second forward on purpose to keep a key's order (it waits for that second).
    ``window=False``: the consent is not sent to İYS (a file imported "state only" seeds
    the mirror with a brand's existing consents, of any age), so H467 does not apply."""
    found: list[Refusal] = []
    if not recipient_fits(recipient, type_):
        found.append(recipient_refusal(type_))
    if source not in HS_SOURCES:
        found.append(Refusal("source", "H119", "LOCAL_SOURCE",
                             "source must be one of the HS_* values (H119)"))
    elif source == "HS_KARAR" and status != "RET":
        found.append(Refusal("source", "H408", "LOCAL_SOURCE",
                             "HS_KARAR (the brand's own decision) needs status RET (H408)"))
    if source == "HS_2015":
        found.append(Refusal("source", "H155", "LOCAL_DATE", HS_2015_EXPLAINED))
    elif consent_date < EARLIEST:
        found.append(Refusal("consent_date", "H156", "LOCAL_DATE",
                             "İYS takes no consent dated before 2015-05-01 (H156)"))
    elif intake and consent_date > now:
        found.append(Refusal("consent_date", "H162", "LOCAL_DATE",
                             "the consent date is in the future: it must be the moment the "
                             "person gave it (H162)"))
    elif window and not calendar.within_three_business_days(consent_date, now):
        found.append(Refusal("consent_date", "H467", "LOCAL_H467",
                             "older than three business days: İYS refuses it for ever "
                             f"(H467; the last moment was "
                             f"{calendar.deadline_for(consent_date).isoformat()})"))
    return found

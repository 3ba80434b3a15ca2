"""How the page reads and writes days, times and phone numbers: as people in Türkiye type
them (``GG.AA.YYYY``, ``0532 123 45 67``), whatever the browser's own locale.

Date boxes are plain text inputs with a pattern, never ``type=date``: a browser shows those
in its own locale (``mm/dd/yyyy`` in an English Chromium), not the page's.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from inbound.api import inputs
from inbound.api.problems import invalid
from iys_push.consent_rules import normalise_recipient

TR_TIME = timezone(timedelta(hours=3), "TRT")  # Türkiye: UTC+3 all year since 2016
DAY_PATTERN = r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}"
MINUTE_PATTERN = DAY_PATTERN + r" [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?"
_DAY = re.compile(DAY_PATTERN)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # links made before GG.AA.YYYY
_MINUTE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4}) ([0-9]{1,2}):([0-9]{2})"
                     r"(?::([0-9]{2}))?")
_ISO_MINUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def parse_day(raw: str | None, name: str) -> date | None:
    """A filter's day: ``GG.AA.YYYY`` (or ``YYYY-MM-DD``), ASCII digits, years the API takes."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if _DAY.fullmatch(raw):
            d, m, y = (int(x) for x in raw.split("."))
            day = date(y, m, d)
        elif _ISO_DAY.fullmatch(raw):
            day = date.fromisoformat(raw)
        else:
            raise ValueError(raw)
    except ValueError:
        raise invalid(name, "expected a date such as 01.05.2024") from None
    if not inputs.FIRST_YEAR <= day.year <= inputs.LAST_YEAR:
        raise invalid(name, f"the year must be between {inputs.FIRST_YEAR} and "
                      f"{inputs.LAST_YEAR}")
    return day


def show_day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def day_field(raw: str | None) -> str:
    """A filter's day as the box shows it (an old ``YYYY-MM-DD`` link shown as GG.AA.YYYY)."""
    raw = (raw or "").strip()
    if _ISO_DAY.fullmatch(raw):
        try:
            return show_day(date.fromisoformat(raw))
        except ValueError:
            return raw
    return raw


def show_time(value: str | datetime | None) -> str:
    """One of our instants (an ISO string from the API) in Turkey time: GG.AA.YYYY SS:DD:ss."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(TR_TIME).strftime("%d.%m.%Y %H:%M:%S")


def parse_local_minute(raw: str) -> datetime | None:
    """A wall-clock Turkish time typed as ``GG.AA.YYYY SS:DD[:ss]`` (or the ISO form an old
    ``datetime-local`` box sent); None when it is neither (the API then names the field)."""
    raw = raw.strip()
    found = _MINUTE.fullmatch(raw)
    try:
        if found:
            d, m, y, hh, mm, ss = found.groups()
            return datetime(int(y), int(m), int(d), int(hh), int(mm), int(ss or 0),
                            tzinfo=TR_TIME)
        if _ISO_MINUTE.fullmatch(raw):
            return datetime.fromisoformat(raw).replace(tzinfo=TR_TIME)
    except ValueError:
        return None
    return None


def phone_filter(raw: str | None) -> str | None:
    """A phone number as typed in a filter (``0532…``, ``532…``, ``+90 532 …``, ``90532…``)
    as the API's ``+90…``; anything else goes to the API as typed (it says why not)."""
    value = (raw or "").strip()
    if not value:
        return None
    return normalise_recipient(value, "ARAMA") or value

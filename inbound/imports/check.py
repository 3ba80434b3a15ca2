"""Checking one row of a consent file with the API's own rules (issue #31).

A row becomes the API's consent object and goes through ``inbound.consents.parse_item``, the
function every channel's consents pass (formats, sources, the three-business-day window,
dates in the future, HS_2015 …), so a file refuses exactly what the API refuses, with the
same reasons and İYS codes. What a file adds: values as people write them (``onay``,
``bireysel``, ``E-POSTA``), dates as people write them (``03.12.2026 14:05``, ISO; Turkey
time when no zone is given), and the TACIR rule that every movement after the first needs
a source and a date (H462/H463; we always send both).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

# inbound.api first: inbound.consents and the API's routes import each other
from inbound import api, consents  # noqa: F401
from inbound.api import inputs
from inbound.api.problems import Problem
from inbound.presend_numbers import Normaliser
from iys_push import calendar
from iys_push.consent_rules import TYPES, normalise_recipient, recipient_fits
from iys_push.timefmt import TR

_DOTTED = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
                  r"(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE)
_NORMALISERS = {t: Normaliser(t) for t in TYPES}


def _normalise(raw: str, type_: str) -> str | None:
    """``normalise_recipient``'s answer, at ~1 µs for the common shapes of a phone number
    (libphonenumber's parse costs ~50 µs: half the check of a row)."""
    fast = _NORMALISERS.get(type_)
    return fast(raw) if fast is not None else normalise_recipient(raw, type_)


_VALUE_ALIASES = {"E-POSTA": "EPOSTA", "E POSTA": "EPOSTA", "SMS": "MESAJ", "RED": "RET"}


@dataclass(frozen=True)
class Checked:
    """A row's verdict: valid (the normalised consent) or refused (code and reason)."""

    consent: consents.Consent | None
    code: str | None = None
    reason: str | None = None
    deadline_at: datetime | None = None


def parse_date(raw: str) -> datetime | None:
    """``03.12.2026 14:05``, ``03/12/2026``, ``2026-12-03 14:05:00``, ISO 8601 with or
    without a zone; Turkey time when no zone is written. None when it is none of these or
    not a real moment."""
    text = raw.strip()
    try:
        found = _DOTTED.fullmatch(text)
        if found:
            d, mo, y, h, mi, s = found.groups()
            return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                            tzinfo=TR)
        found = _ISO.fullmatch(text)
        if found:
            y, mo, d, h, mi, s, zone = found.groups()
            moment = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0),
                              int(s or 0), tzinfo=TR)
            if zone:
                moment = datetime.fromisoformat(text.replace(" ", "T").replace("z", "Z"))
            return moment
    except ValueError:
        return None
    return None


@functools.lru_cache(maxsize=4096)
def _date_text(raw: str) -> str | None:
    """``parse_date`` as ISO 8601 text (a file's rows share their dates: cached)."""
    moment = parse_date(raw)
    return moment.isoformat() if moment is not None else None


_deadline_for = functools.lru_cache(maxsize=4096)(calendar.deadline_for)


@functools.lru_cache(maxsize=256)
def _value(raw: str | None) -> str | None:
    """A value as people write it (a file repeats a handful: cached)."""
    if raw is None:
        return None
    upper = raw.strip().replace("i", "I").replace("ı", "I").upper().replace("İ", "I")
    return _VALUE_ALIASES.get(upper, upper)


def _first(errors: list[dict[str, object]]) -> tuple[str, str]:
    code = next((str(e["code"]) for e in errors if e.get("code")), None)
    field = str(errors[0]["field"]) if errors else "row"
    reason = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    return code or field, reason


def check_row(row: dict[str, str | None], index: int, now: datetime, *,
              state_only: bool = False) -> Checked:
    """One row, checked as the API checks a consent (``state_only``: without the
    three-business-day window, as it is never sent)."""
    recipient_type = _value(row.get("recipient_type")) or "BIREYSEL"
    raw_date = row.get("consent_date")
    item: dict[str, object] = {"recipient_type": recipient_type}
    for name in ("type", "status", "source"):
        value = _value(row.get(name))
        if value is not None:
            item[name] = value
    if recipient_type == "TACIR" and (row.get("source") is None or raw_date is None):
        missing = "source (H463)" if row.get("source") is None else "consent_date (H462)"
        return Checked(None, "H463" if row.get("source") is None else "H462",
                       f"TACIR: {missing} is required: İYS needs both on every movement "
                       "after the first, and we always send both")
    if raw_date is not None:
        moment = _date_text(raw_date)
        if moment is None:
            return Checked(None, "H158", "consent_date: not a date: write 03.12.2026 14:05 "
                           "or 2026-12-03T14:05:00 (Turkey time unless a zone is given)")
        item["consent_date"] = moment
    raw_recipient = row.get("recipient")
    fast = _fast(raw_recipient, index, item, now, state_only)
    if fast is not None:
        return fast
    if raw_recipient is not None:
        item["recipient"] = raw_recipient
    consent, errors = consents.parse_item(item, index, "", now, normalise=_normalise,
                                          window=not state_only)
    if consent is None:
        code, reason = _first(errors)
        return Checked(None, code, reason)
    return Checked(consent, deadline_at=_deadline_for(consent.consent_date))


# -- the fast path: a file's rows differ in their recipient, rarely in anything else --------
#
# ``parse_item`` judges the recipient apart from the other fields (its text, its normal
# form, its fit to the type; the window and the sources never look at it). So the verdict
# on a row's other fields is the verdict ``parse_item`` gives them beside a recipient that
# is surely good, memoised per combination of values (a file holds a handful); a row whose
# other fields pass that way and whose own recipient passes the same three checks is a
# valid consent without ``parse_item`` (~25 µs of a row's ~33). Everything else — every
# row that will be refused — goes through ``parse_item`` itself, which names the reasons.

_GOOD_RECIPIENT = {"MESAJ": "+905321234567", "ARAMA": "+902121234567",
                   "EPOSTA": "kisi@example.com"}


@functools.lru_cache(maxsize=4096)
def _template(type_: object, status: object, source: object, recipient_type: object,
              consent_date: object, now: datetime, state_only: bool
              ) -> consents.Consent | None:
    """``parse_item``'s consent for these values beside a good recipient; None when it
    refuses them (or the type is not one of the three)."""
    if not isinstance(type_, str) or type_ not in _GOOD_RECIPIENT:
        return None
    item = {"recipient": _GOOD_RECIPIENT[type_], "type": type_, "status": status,
            "source": source, "recipient_type": recipient_type, "consent_date": consent_date}
    consent, _ = consents.parse_item({k: v for k, v in item.items() if v is not None}, 0, "",
                                     now, normalise=_normalise, window=not state_only)
    return consent


def _fast(raw: str | None, index: int, item: dict[str, object], now: datetime,
          state_only: bool) -> Checked | None:
    """The row's verdict when it is valid and the fast path can tell; else None."""
    if raw is None:
        return None
    template = _template(item.get("type"), item.get("status"), item.get("source"),
                         item["recipient_type"], item.get("consent_date"), now, state_only)
    if template is None:
        return None
    type_ = template.types[0]
    try:
        inputs.text(raw, "recipient", max_length=consents.RECIPIENT_MAX)
    except Problem:
        return None
    recipient = _normalise(raw, type_)
    if recipient is None or not recipient_fits(recipient, type_):
        return None
    t = template
    return Checked(consents.Consent(index, recipient, raw, t.types, t.status, t.source,
                                    t.recipient_type, t.consent_date, {}),
                   deadline_at=_deadline_for(t.consent_date))


def now_utc() -> datetime:
    return datetime.now(UTC)

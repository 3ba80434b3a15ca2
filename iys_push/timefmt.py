"""İYS timestamps: `YYYY-MM-DD HH:MM:SS` in Turkey time (IYS_API.md §3.4).

İYS treats every date as GMT+3 (Europe/Istanbul, no daylight saving since 2016) and rejects
ISO-8601; one public client produced dates three hours early by formatting UTC (§8).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

TR = ZoneInfo("Europe/Istanbul")

_IYS_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
IYS_FORMAT = "%Y-%m-%d %H:%M:%S"


def format_iys(dt: datetime) -> str:
    """An aware datetime as İYS writes it: Turkey wall-clock time, whole seconds."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_iys needs an aware datetime; naive times are ambiguous")
    return dt.astimezone(TR).strftime(IYS_FORMAT)


def looks_like_iys(s: str) -> bool:
    """True when `s` has the İYS shape, whether or not the date itself exists (H158 vs H157)."""
    return bool(_IYS_PATTERN.fullmatch(s))


def parse_iys(s: str) -> datetime:
    """Parse an İYS timestamp into an aware Turkey-time datetime.

    Raises ValueError for a wrong shape (İYS: H158) and for a date that cannot exist such as
    month 15 (İYS: H157); use `looks_like_iys` first when the two must be told apart.
    """
    if not looks_like_iys(s):
        raise ValueError(f"not an İYS timestamp (YYYY-MM-DD HH:MM:SS): {s!r}")
    return datetime.strptime(s, IYS_FORMAT).replace(tzinfo=TR)


def show_tr(dt: datetime) -> str:
    """An instant as people in Türkiye read it, the zone named: ``2026-12-03 08:21:28 +03:00
    (Europe/Istanbul)``; what İYS wrote, unchanged, followed by the zone it meant."""
    local = dt.astimezone(TR)
    offset = local.strftime("%z")
    return f"{local.strftime(IYS_FORMAT)} {offset[:3]}:{offset[3:]} (Europe/Istanbul)"


def iso_tr(dt: datetime) -> str:
    """RFC 3339 in Turkey time: ``2026-12-03T08:21:28+03:00`` (the API's and the CSV's form
    of an İYS timestamp: the digits İYS wrote, and the offset they meant)."""
    return dt.astimezone(TR).isoformat()

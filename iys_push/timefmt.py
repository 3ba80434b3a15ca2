"""İYS dates: Turkey time (GMT+3, no daylight saving), ``YYYY-MM-DD HH:MM:SS``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TR = ZoneInfo("Europe/Istanbul")
IYS_FORMAT = "%Y-%m-%d %H:%M:%S"


def format_iys(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("İYS dates are made from aware datetimes only")
    return moment.astimezone(TR).strftime(IYS_FORMAT)


def parse_iys(text: str) -> datetime:
    """Parse an İYS date (Turkey time); ValueError on a bad format or an impossible date."""
    if len(text) != 19:
        raise ValueError(f"not YYYY-MM-DD HH:MM:SS: {text!r}")
    return datetime.strptime(text, IYS_FORMAT).replace(tzinfo=TR)

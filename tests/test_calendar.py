"""The three-business-day deadline across weekends and Turkish public holidays."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from iys_push.calendar import (
    add_business_days,
    deadline_for,
    is_business_day,
    within_three_business_days,
)
from iys_push.timefmt import TR, format_iys, parse_iys


def tr(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TR)


@pytest.mark.parametrize(
    ("day", "business"),
    [
        (date(2026, 11, 23), True),    # Monday
        (date(2026, 11, 28), False),   # Saturday
        (date(2026, 11, 29), False),   # Sunday
        (date(2026, 10, 29), False),   # Republic Day
        (date(2026, 10, 28), True),    # its eve is a half day: counts as a business day
        (date(2026, 5, 27), False),    # Kurban Bayramı
        (date(2026, 5, 26), True),     # Arife (half day)
        (date(2026, 3, 20), False),    # Ramazan Bayramı
        (date(2027, 1, 1), False),     # New Year
        (date(2026, 4, 23), False),
        (date(2026, 5, 1), False),
        (date(2026, 5, 19), False),
        (date(2026, 7, 15), False),
        (date(2026, 8, 31), True),     # 30 August 2026 is a Sunday; Monday is not a holiday
    ],
)
def test_business_days(day: date, business: bool) -> None:
    assert is_business_day(day) is business


@pytest.mark.parametrize(
    ("received", "deadline_day"),
    [
        (tr(2026, 11, 23), date(2026, 11, 26)),          # Monday → Thursday
        (tr(2026, 11, 26), date(2026, 12, 1)),           # Thursday → across the weekend
        (tr(2026, 11, 27, 22, 30), date(2026, 12, 2)),   # Friday evening → Wednesday
        (tr(2026, 11, 28), date(2026, 12, 2)),           # received on Saturday
        (tr(2026, 10, 27), date(2026, 11, 2)),           # 28 Oct counts, 29 Oct does not
        (tr(2026, 10, 29), date(2026, 11, 3)),           # received on the holiday itself
        (tr(2026, 5, 25), date(2026, 6, 2)),             # Kurban Bayramı week 27-30 May
        (tr(2026, 3, 18), date(2026, 3, 24)),            # Ramazan Bayramı 20-22 March
        (tr(2026, 12, 30), date(2027, 1, 5)),            # over New Year
    ],
)
def test_deadline_is_end_of_third_business_day(received: datetime, deadline_day: date) -> None:
    deadline = deadline_for(received)
    assert deadline.astimezone(TR).date() == deadline_day
    assert (deadline.hour, deadline.minute, deadline.second) == (23, 59, 59)


def test_utc_receipt_time_uses_the_turkish_date() -> None:
    # 22:30 UTC on Sunday is already Monday 01:30 in Istanbul
    received = datetime.fromisoformat("2026-11-22T22:30:00+00:00")
    assert deadline_for(received).date() == date(2026, 11, 26)


def test_window_check_matches_the_deadline() -> None:
    consent = tr(2026, 11, 27, 9)
    assert within_three_business_days(consent, tr(2026, 12, 2, 23, 59))
    assert not within_three_business_days(consent, tr(2026, 12, 3, 0, 0))


def test_add_business_days_skips_weekends() -> None:
    assert add_business_days(date(2026, 11, 27), 1) == date(2026, 11, 30)


def test_iys_date_format_is_turkey_time() -> None:
    moment = datetime.fromisoformat("2026-11-23T09:15:07+00:00")
    assert format_iys(moment) == "2026-11-23 12:15:07"
    assert parse_iys("2026-11-23 12:15:07") == moment
    with pytest.raises(ValueError):
        parse_iys("2020-15-01 13:35:00")
    with pytest.raises(ValueError):
        parse_iys("2026-11-23T12:15:07")

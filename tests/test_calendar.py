"""Turkish business-day calendar behind the three-business-day rule (IYS_API.md §3.4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

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


def end_of(d: date) -> datetime:
    return datetime.combine(d, time(23, 59, 59, 999999), tzinfo=TR)


@pytest.mark.parametrize(
    ("day", "expected", "why"),
    [
        (date(2026, 1, 1), False, "New Year's Day"),
        (date(2026, 1, 10), False, "Saturday"),
        (date(2026, 1, 11), False, "Sunday"),
        (date(2026, 1, 12), True, "ordinary Monday"),
        (date(2026, 3, 19), True, "Ramazan Bayramı eve (Arife) is a half day: business day"),
        (date(2026, 3, 20), False, "Ramazan Bayramı day 1"),
        (date(2026, 4, 23), False, "National Sovereignty and Children's Day"),
        (date(2026, 5, 1), False, "Labour Day"),
        (date(2026, 5, 19), False, "Atatürk, Youth and Sports Day"),
        (date(2026, 5, 26), True, "Kurban Bayramı eve (Arife) is a half day: business day"),
        (date(2026, 5, 27), False, "Kurban Bayramı day 1"),
        (date(2026, 5, 29), False, "Kurban Bayramı day 3"),
        (date(2026, 7, 15), False, "Democracy and National Unity Day"),
        (date(2027, 8, 30), False, "Victory Day on a Monday"),
        (date(2026, 10, 28), True, "28 October afternoon off is a half day: business day"),
        (date(2026, 10, 29), False, "Republic Day"),
        (date(2027, 3, 9), False, "Ramazan Bayramı 2027 day 1"),
        (date(2027, 5, 17), False, "Kurban Bayramı 2027 day 2"),
    ],
)
def test_is_business_day(day: date, expected: bool, why: str) -> None:
    assert is_business_day(day) is expected, why


@pytest.mark.parametrize(
    ("received", "deadline_day", "why"),
    [
        (tr(2026, 1, 7), date(2026, 1, 12), "Wednesday: Thu, Fri, then Monday"),
        (tr(2026, 1, 9, 21, 45), date(2026, 1, 14), "Friday evening: Mon, Tue, Wed"),
        (tr(2026, 1, 10), date(2026, 1, 14), "received on a Saturday"),
        (tr(2026, 1, 1), date(2026, 1, 6), "received on New Year's Day (a holiday)"),
        (tr(2026, 10, 26), date(2026, 10, 30), "28 Oct counts, 29 Oct skipped"),
        (tr(2026, 10, 27), date(2026, 11, 2), "28 Oct counts, 29 Oct and weekend skipped"),
        (tr(2026, 10, 29), date(2026, 11, 3), "received on Republic Day"),
        (tr(2026, 5, 25), date(2026, 6, 2), "Kurban 2026: Arife counts, 27–29 May skipped"),
        (tr(2026, 5, 26), date(2026, 6, 3), "Kurban 2026: received on Arife"),
        (tr(2027, 5, 14), date(2027, 5, 24), "Kurban 2027 (16–19 May, with 19 May) skipped"),
        (tr(2026, 3, 18), date(2026, 3, 24), "Ramazan 2026: Arife counts, 20 Mar skipped"),
        (tr(2027, 3, 8), date(2027, 3, 16), "Ramazan 2027: 9–11 March skipped"),
        (tr(2026, 4, 22), date(2026, 4, 28), "23 April skipped"),
        (tr(2026, 4, 30), date(2026, 5, 6), "1 May (a Friday) and the weekend skipped"),
        (tr(2026, 5, 18), date(2026, 5, 22), "19 May skipped"),
        (tr(2026, 7, 14), date(2026, 7, 20), "15 July skipped"),
        (tr(2027, 8, 27), date(2027, 9, 2), "30 August 2027 (Monday) skipped"),
    ],
)
def test_deadline_is_end_of_third_business_day_after_receipt(
    received: datetime, deadline_day: date, why: str
) -> None:
    assert deadline_for(received) == end_of(deadline_day), why


@pytest.mark.parametrize(
    ("received_utc", "deadline_day"),
    [
        # 22:30 UTC Friday is 01:30 Saturday in Istanbul: the Turkey date decides.
        (datetime(2026, 1, 9, 22, 30, tzinfo=UTC), date(2026, 1, 14)),
        # 20:59 UTC Thursday is still Thursday 23:59 in Istanbul.
        (datetime(2026, 1, 8, 20, 59, tzinfo=UTC), date(2026, 1, 13)),
    ],
)
def test_deadline_uses_the_istanbul_date(received_utc: datetime, deadline_day: date) -> None:
    assert deadline_for(received_utc) == end_of(deadline_day)


def test_deadline_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        deadline_for(datetime(2026, 1, 9, 12, 0))


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 1, 9), 0, date(2026, 1, 9)),
        (date(2026, 1, 10), 1, date(2026, 1, 12)),
        (date(2026, 1, 9), 1, date(2026, 1, 12)),
        (date(2026, 11, 2), -3, date(2026, 10, 27)),
        (date(2026, 5, 25), 2, date(2026, 6, 1)),
    ],
)
def test_add_business_days(start: date, n: int, expected: date) -> None:
    assert add_business_days(start, n) == expected


def test_consent_is_acceptable_until_the_deadline_inclusive() -> None:
    friday_evening = tr(2026, 1, 9, 20, 0)
    last_moment = end_of(date(2026, 1, 14))
    assert within_three_business_days(friday_evening, last_moment)
    assert not within_three_business_days(friday_evening, last_moment + timedelta(microseconds=1))
    assert within_three_business_days(friday_evening, friday_evening)


def test_timefmt_round_trips_in_turkey_time() -> None:
    utc_noon = datetime(2026, 1, 9, 12, 0, 5, 999, tzinfo=UTC)
    assert format_iys(utc_noon) == "2026-01-09 15:00:05"
    assert parse_iys("2026-01-09 15:00:05") == utc_noon.replace(microsecond=0)
    assert parse_iys("2026-01-09 15:00:05").tzinfo is TR


@pytest.mark.parametrize(
    "bad",
    ["2026-01-09T15:00:05", "2026-1-9 15:00:05", "2020-15-01 13:35:00", "2026-02-30 10:00:00"],
)
def test_parse_iys_rejects_bad_shapes_and_impossible_dates(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_iys(bad)


def test_format_iys_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        format_iys(datetime(2026, 1, 9, 12, 0))

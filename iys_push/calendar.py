"""Business days in Türkiye and the legal three-business-day deadline (pure functions).

Saturdays, Sundays and the public holidays of the ``holidays`` package (Turkey, including
the lunar Ramazan and Kurban Bayramı) are not business days. Half-day eves (28 October
afternoon, the Arife days) count as business days: that errs early, which is the safe side
for a deadline.

A consent received on day D must reach İYS by the end of the third business day after D
(Europe/Istanbul dates). We take "end" as 23:59:59 Turkey time of that day; İYS's own H467
check is UNCONFIRMED on time of day (IYS_API.md §3.4), so the pusher treats the deadline as
a limit to stay well inside, not a moment to aim at.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from iys_push.timefmt import TR

DEADLINE_BUSINESS_DAYS = 3


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    # PUBLIC only: the HALF_DAY category (eves from 13:00) stays a business day
    return frozenset(holidays.Turkey(years=year, categories=(holidays.PUBLIC,)).keys())


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_business_days(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself is not counted)."""
    current = day
    while count > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            count -= 1
    return current


def deadline_for(received_at: datetime) -> datetime:
    """End (23:59:59 Turkey time) of the third business day after the day of ``received_at``."""
    local_day = received_at.astimezone(TR).date()
    last_day = add_business_days(local_day, DEADLINE_BUSINESS_DAYS)
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=TR)


def within_three_business_days(consent_date: datetime, now: datetime) -> bool:
    """Would İYS still accept a consent dated ``consent_date`` at ``now`` (H467)?"""
    return now <= deadline_for(consent_date)

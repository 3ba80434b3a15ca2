"""Business days in Turkey, for İYS's three-business-day rule (IYS_API.md §3.4, §7.4).

Pure functions. Holidays come from the `holidays` package (Turkey), which computes the lunar
Ramazan and Kurban Bayramı dates. We ask for the `public` category only: the package lists
half-day eves (Arife, 28 October afternoon) under a separate `half_day` category, and a half
day is still a business day here. Treating them as business days makes deadlines *earlier*,
never later, which is the safe error for a legal deadline.

Weekends (Saturday, Sunday) are not business days. Dates are Europe/Istanbul dates.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from iys_push.timefmt import TR

DEADLINE_BUSINESS_DAYS = 3
_END_OF_DAY = time(23, 59, 59, 999999)


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    # categories=("public",) explicitly, so half days can never sneak in through a changed default.
    return frozenset(holidays.Turkey(years=year, categories=("public",)).keys())


def is_business_day(d: date) -> bool:
    """Monday–Friday and not a Turkish public holiday (half-day eves are business days)."""
    return d.weekday() < 5 and d not in _public_holidays(d.year)


def add_business_days(d: date, n: int) -> date:
    """The n-th business day after `d` (before it when n < 0).

    `d` itself is never counted, so it need not be a business day; n == 0 returns `d`.
    """
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    current = d
    while remaining:
        current += step
        if is_business_day(current):
            remaining -= 1
    return current


def deadline_for(received_at: datetime) -> datetime:
    """Last instant at which an event received at `received_at` may still be recorded in İYS.

    The end of the third business day after the Turkey-time date of `received_at`, returned as
    23:59:59.999999 Europe/Istanbul (an inclusive bound: on time while `now <= deadline`).
    """
    if received_at.tzinfo is None:
        raise ValueError("deadline_for needs an aware datetime")
    return _deadline_of_day(received_at.astimezone(TR).date())


@lru_cache(maxsize=1024)
def _deadline_of_day(received_day: date) -> datetime:
    """Per day, not per message: every MO and every push attempt asks (the same few days)."""
    last_day = add_business_days(received_day, DEADLINE_BUSINESS_DAYS)
    return datetime.combine(last_day, _END_OF_DAY, tzinfo=TR)


def within_three_business_days(consent_date: datetime, now: datetime) -> bool:
    """İYS's H467 check as we model it: acceptable while `now <= deadline_for(consent_date)`.

    İYS does not publish whether the time of day counts (UNCONFIRMED, §3.4); we count whole
    Turkey-time days, like the regulation's "üç iş günü".
    """
    return now <= deadline_for(consent_date)

"""The mirror's background work in the service: the daily reconciliation of every brand, and
the mirror's gauges (``iys_inbound_reconciliation_*``, ``iys_inbound_mirror_*``).

Every process may run it: a day is reconciled again only when its report is older than
``reconcile_every`` (two processes racing on one day do the same harmless work twice: the
movements are stored once, the report counts runs). Days: yesterday (Turkey time) and every
day of the last seven that has not matched yet (İYS keeps files seven days back).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg
import structlog
from prometheus_client import Gauge

from iys_push import calendar, mirror
from iys_push.client import IysClient, IysSettings
from iys_push.mirror_settings import MirrorSettings
from iys_push.reconcile import reconcile_day
from iys_push.timefmt import TR

log = structlog.get_logger(__name__)

DAYS_BACK = 7
GAUGE_INTERVAL = 30.0
NEVER = 8   # days behind when no day ever matched (beyond İYS's seven-day window)

# days behind; the name carries no unit because Prometheus' only time unit is seconds
DAYS_BEHIND = Gauge("iys_inbound_reconciliation_behind",
                    "Days between yesterday (Turkey time) and the newest reconciled day "
                    f"({NEVER}: none within İYS's window)", ["brand"])
DRIFT_ROWS = Gauge("iys_inbound_reconciliation_drift_rows",
                   "Accepted events of ours missing from İYS's file in the latest report",
                   ["brand"])
OVERDUE = Gauge("iys_inbound_reconciliation_overdue",
                "1 when a day is not reconciled by noon of the next business day", ["brand"])
PULL_AGE = Gauge("iys_inbound_mirror_pull_age_seconds",
                 "Seconds since the brand's last pull round that ended without error "
                 "(-1: never)", ["brand"])
# the pull alert's yardstick (deploy/prometheus/alerts.yml: three intervals without a pull)
PULL_INTERVAL = Gauge("iys_inbound_mirror_pull_interval_seconds",
                      "Seconds between two pull rounds ([mirror] pull_interval)")



def due_day(now: datetime) -> date:
    """The newest day that must be reconciled by now: a day is due by noon (Turkey time) of
    the next business day after it."""
    today = now.astimezone(TR).date()
    day = today - timedelta(days=1)
    while True:
        noon = datetime.combine(calendar.add_business_days(day, 1), datetime.min.time(),
                                tzinfo=TR).replace(hour=12)
        if now >= noon:
            return day
        day -= timedelta(days=1)


def days_behind(reconciled: date | None, now: datetime) -> int:
    if reconciled is None:
        return NEVER
    yesterday = now.astimezone(TR).date() - timedelta(days=1)
    return max(0, min(NEVER, (yesterday - reconciled).days))


async def update_gauges(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    due = due_day(now)
    for row in await pool.fetch(mirror.SQL.mirror_gauges):
        brand = row["brand_id"]
        DAYS_BEHIND.labels(brand).set(days_behind(row["reconciled_day"], now))
        DRIFT_ROWS.labels(brand).set(row["drift_rows"] or 0)
        OVERDUE.labels(brand).set(1 if row["reconciled_day"] is None
                                  or row["reconciled_day"] < due else 0)
        pulled = row["pulled_at"]
        PULL_AGE.labels(brand).set((now - pulled).total_seconds() if pulled else -1)


async def reconcile_pass(pool: asyncpg.Pool, client: IysClient,
                         settings: MirrorSettings) -> int:
    """Reconcile every brand's days that need it; returns how many days ran."""
    yesterday = datetime.now(UTC).astimezone(TR).date() - timedelta(days=1)
    ran = 0
    for brand in await pool.fetch(mirror.SQL.brands_to_reconcile):
        days = await pool.fetch(mirror.SQL.days_to_reconcile, brand["brand_code"], yesterday,
                                DAYS_BACK - 1, settings.reconcile_every)
        for row in days:
            try:
                await reconcile_day(pool, client, brand["id"], row["day"])
                ran += 1
            except Exception as exc:   # logged; the next pass tries again
                log.warning("reconciliation failed", brand=brand["id"],
                            day=row["day"].isoformat(), error=f"{type(exc).__name__}: {exc}")
    return ran


async def run_forever(pool: asyncpg.Pool, iys_settings: IysSettings,
                      settings: MirrorSettings) -> None:
    client = IysClient(pool, iys_settings)
    PULL_INTERVAL.set(settings.pull_interval)
    last_pass = -float("inf")
    try:
        while True:
            if settings.reconcile_enabled and \
                    time.monotonic() - last_pass >= settings.reconcile_every:
                last_pass = time.monotonic()
                try:
                    await reconcile_pass(pool, client, settings)
                except Exception as exc:
                    log.warning("reconciliation pass failed", error=str(exc))
            try:
                await update_gauges(pool)
            except Exception as exc:
                log.warning("mirror gauges failed", error=str(exc))
            await asyncio.sleep(GAUGE_INTERVAL)
    finally:
        await client.close()

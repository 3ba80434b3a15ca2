"""The push side's gauges (outbox, compliance, success ratio) and the requeue of failures.

Every process computes them from the database, not from what it saw itself: a restart
must not reset them, and İYS counts the success ratio per egress IP over all the
processes behind it.
"""

from __future__ import annotations

import asyncpg

from iys_push import metrics, store

GAUGE_INTERVAL = 5.0        # seconds between two updates of the outbox gauges, normally
GAUGE_MAX_SHARE = 0.02      # of the time at most in their queries, however big the backlog
GAUGE_MAX_PAUSE = 60.0      # but at least once a minute
RATIO_INTERVAL = 30.0       # seconds between two updates of the success ratio, normally
RATIO_MAX_PAUSE = 300.0     # at least every five minutes (its window is 24 hours)


def gauge_pause(took: float) -> float:
    """Seconds to wait after an update of the outbox gauges whose queries took ``took``.

    The compliance query reads the tally and the clock of marks (migration 0037), not the
    pending events: its cost no longer grows with the backlog, but the clock's compaction
    grows with the minutes that hold a pending mark. Every process runs them; every
    ``GAUGE_INTERVAL`` seconds while they are cheap, less often when they are not (a
    database under strain), so that they never take more than ``GAUGE_MAX_SHARE`` of a
    database core and the MO path keeps its cores; at least once a minute.
    """
    return min(GAUGE_MAX_PAUSE, max(GAUGE_INTERVAL, took / GAUGE_MAX_SHARE))


def ratio_pause(took: float) -> float:
    """Seconds to wait after an update of the success ratio whose query took ``took``: the
    same share of a core at most as the outbox gauges (``GAUGE_MAX_SHARE``)."""
    return min(RATIO_MAX_PAUSE, max(RATIO_INTERVAL, took / GAUGE_MAX_SHARE))


async def update_gauges(pool: asyncpg.Pool) -> None:
    """The outbox and compliance gauges (pending events only: events in review, dismissed
    or settled are not the pusher's work). Folds the event tally's deltas first (its
    readers, the failed gauge and the web page's chart, sum them: fewer to sum)."""
    await pool.fetchval(store.SQL.compact_tally)
    await pool.fetchval(store.SQL.compact_clock)
    row = await pool.fetchrow(store.SQL.compliance)
    metrics.BACKLOG.set(row["backlog"])
    metrics.BACKLOG_AGE.set(row["oldest_age"] or 0)
    metrics.NEAREST_DEADLINE.set(row["nearest_ret_deadline"]
                                 if row["nearest_ret_deadline"] is not None
                                 else metrics.NO_DEADLINE_SECONDS)
    metrics.PAST_HALF.set(row["past_half"])
    metrics.PAST_NINETY.set(row["past_ninety"])
    metrics.OVERDUE.set(row["overdue"])
    metrics.FAILED.set(await pool.fetchval(store.SQL.failed_count))


async def update_success_ratio(pool: asyncpg.Pool, egress: str) -> float:
    """The 24-hour success ratio of ``egress`` as İYS counts it, from the attempts of every
    process with that label (one index range scan); returns it.

    Only 400/401/403/404/422 count as failures (IYS_API.md §6); a request with no answer
    (timeout, refused connection) is left out of both counts, since İYS may never have
    seen it. No answered request in 24 hours: 1.0 (nothing refused)."""
    row = await pool.fetchrow(store.SQL.success_ratio_24h, egress, list(metrics.CLIENT_ERRORS))
    answered, refused = row["answered"], row["refused"]
    ratio = 1.0 if not answered else (answered - refused) / answered
    metrics.SUCCESS_RATIO.labels(egress).set(ratio)
    metrics.REQUESTS_24H.labels(egress).set(answered)
    return ratio


async def requeue_failed(pool: asyncpg.Pool, *, event_ids: list[int] | None = None,
                         brand_id: str | None = None) -> int:
    """Send failed events again (``iys-inbound events requeue``): all, some ids, or a brand's.
    Only ``failed`` events: never one in review or dismissed (a person's decision) or one
    settled otherwise. The claim settles a requeued event that a later one of its key has
    overtaken meanwhile as ``superseded``, and one with the status of the event before it
    as ``duplicate``."""
    async with pool.acquire() as conn, conn.transaction():
        result = await conn.execute(store.SQL.requeue_failed, event_ids, brand_id)
        await conn.execute(store.SQL.notify_outbox)
    return int(result.split()[-1])

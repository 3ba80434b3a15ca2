"""``live=true`` of the pre-send check: ask İYS about the numbers the mirror does not know.

İYS's batch status (IYS_API.md §2.5) takes at most 1,000 recipients a request and lists only
those with ONAY; RET and unknown are left out alike, so only an ONAY is written into the
mirror (origin ``status``, no date: the endpoint gives none; never over a row that arrived
meanwhile). A number İYS did not list stays ``no_record``.

The budget (DESIGN.md "One request budget": pre-send live checks come after live RETs and
ONAYs, the pusher's status queries and owners' refreshes): each check sends at most
``[check] live_requests_per_check`` requests and all checks together at most
``live_requests_per_hour`` in a sliding hour, counted per İYS account in PostgreSQL like the
single status endpoint's hour (``iys_push.status_budget``, under its own key). The requests go
one after the other through the shared 8-a-second limiter, so a check never has more than
one request waiting in front of anybody else's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from inbound.presend import SQL, Check, CheckSettings
from iys_push import status_budget

PER_REQUEST = 1000          # IYS_API.md §2.5 / §3.6


@dataclass
class LiveReport:
    requests: int = 0         # batch-status requests sent
    asked: int = 0            # numbers asked
    onay: int = 0             # of them, ONAY in İYS (now in the mirror)
    not_asked: int = 0        # unknown numbers left out (budget or an İYS failure)
    outcome: str = "ok"       # ok | budget | not_configured | error
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "requests": self.requests, "asked": self.asked,
                "onay": self.onay, "not_asked": self.not_asked, "detail": self.detail}


def budget_key(client: Any) -> str:
    return f"{client.settings.account} batch-status"


async def _grant(pool: asyncpg.Pool, key: str, wanted: int, per_hour: int) -> int:
    """As many of ``wanted`` requests as the hour has room for (0: none)."""
    if wanted <= 0 or per_hour <= 0:
        return 0
    refused = await status_budget.take(pool, key, wanted, limit=per_hour)
    if refused is None:
        return wanted
    room = per_hour - refused.used
    if room <= 0:
        return 0
    return room if await status_budget.take(pool, key, room, limit=per_hour) is None else 0


async def ask_unknown(pool: asyncpg.Pool, client: Any, check: Check, unknown: list[str],
                      settings: CheckSettings) -> tuple[LiveReport, set[str]]:
    """Ask İYS about ``unknown`` (distinct, normalised); the numbers it listed as ONAY, now
    in the mirror, and a report."""
    report = LiveReport(not_asked=len(unknown))
    if not unknown:
        return report, set()
    if client is None:
        report.outcome, report.detail = "not_configured", "İYS is not configured here"
        return report, set()
    needed = -(-len(unknown) // PER_REQUEST)
    granted = await _grant(pool, budget_key(client), min(needed, settings.live_requests_per_check),
                           settings.live_requests_per_hour)
    onay: set[str] = set()
    for i in range(granted):
        batch = unknown[i * PER_REQUEST:(i + 1) * PER_REQUEST]
        try:
            listed = await client.onay_recipients(check.iys_code, check.brand_code,
                                                  check.recipient_type, check.type, batch)
        except Exception as exc:  # İYS or the token away: the mirror's answer stands
            report.outcome, report.detail = "error", type(exc).__name__
            break
        report.requests += 1
        report.asked += len(batch)
        onay.update(set(listed) & set(batch))  # only what was asked
    report.not_asked = len(unknown) - report.asked
    if report.outcome == "ok" and report.not_asked:
        report.outcome = "budget"
        report.detail = (f"{report.not_asked} numbers not asked: at most "
                         f"{settings.live_requests_per_check} requests a check and "
                         f"{settings.live_requests_per_hour} an hour")
    if onay:
        await pool.execute(SQL.check_live_onay, check.brand_code, check.recipient_type,
                           check.type, sorted(onay))
    report.onay = len(onay)
    return report, onay

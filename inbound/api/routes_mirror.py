"""The İYS mirror's state and the daily reconciliation of a brand (issue #29).

``GET /brands/{brand_id}/reconciliations[?date=YYYY-MM-DD]``: the mirror's freshness (last
pull, last push from İYS, push registered, newest reconciled day), the brand's automatic
agreement setting and the reports (newest first, a month at most, or the one day).
``POST /brands/{brand_id}/reconciliations`` ``{"date", "agree"?, "auto_agree"?}``: run that
day now (``agree: true`` records the agreement in İYS if everything matches: the brand's
legal statement) and/or change the setting; answers the report. Both the setting's change
and a recorded agreement are audited (resources ``brand`` and ``reconciliation``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from inbound import reconcile_audited
from inbound.api import params
from inbound.api.problems import Problem
from inbound.api.scope import visible_brand
from inbound.api.state import IYS_CLIENT
from iys_push import mirror
from iys_push.reconcile import report_view
from iys_push.timefmt import TR

routes = web.RouteTableDef()
DAYS_BACK = 7            # İYS keeps the daily files this long (H502 beyond)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")





def _day(value: Any, field: str) -> date:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise params.invalid(field, "a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise params.invalid(field, "a date that exists") from None
    today = datetime.now(UTC).astimezone(TR).date()
    if not today - timedelta(days=DAYS_BACK) <= day <= today:
        raise params.invalid(field, f"İYS keeps daily files {DAYS_BACK} days (Turkey time)")
    return day


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _answer(pool: Any, brand_id: str, reports: list[dict[str, Any]]) -> dict[str, Any]:
    s = await pool.fetchrow(mirror.SQL.brand_mirror_status, brand_id)
    return {"brand_id": brand_id, "auto_agree": s["reconcile_auto_agree"],
            "mirror": {"pulled_at": _iso(s["pulled_at"]), "pushed_at": _iso(s["pushed_at"]),
                       "push_registered": bool(s["push_registered"]),
                       "reconciled_day": _iso(s["reconciled_day"])},
            "items": reports}


@routes.get("/brands/{brand_id}/reconciliations")
async def list_reconciliations(request: web.Request) -> web.Response:
    pool, brand_id, _ = await visible_brand(request)
    raw = request.query.get("date")
    day = None
    if raw is not None:
        if not _DAY.fullmatch(raw):
            raise params.invalid("date", "a date YYYY-MM-DD")
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise params.invalid("date", "a date that exists") from None
    brand = await pool.fetchrow(mirror.SQL.brand_by_id, brand_id)
    rows = await pool.fetch(mirror.SQL.reports, brand["brand_code"], day)
    return web.json_response(await _answer(pool, brand_id, [report_view(r) for r in rows]))


@routes.post("/brands/{brand_id}/reconciliations")
async def run_reconciliation(request: web.Request) -> web.Response:
    pool, brand_id, caller = await visible_brand(request)
    body = await params.json_object(request)
    unknown = sorted(set(body) - {"date", "agree", "auto_agree"})
    if unknown:
        raise Problem(422, "unknown field(s): " + ", ".join(unknown),
                      errors=[{"field": f, "reason": "unknown field"} for f in unknown])
    for flag in ("agree", "auto_agree"):
        if flag in body and not isinstance(body[flag], bool):
            raise params.invalid(flag, "true or false")
    actor = reconcile_audited.Actor(caller.token_id, caller.owner_id, caller.admin)
    if "auto_agree" in body:
        await reconcile_audited.set_auto_agree(pool, brand_id, body["auto_agree"], actor)
    if "date" not in body:
        if "auto_agree" not in body:
            raise params.invalid("date", "required (or auto_agree alone)")
        return web.json_response(await _answer(pool, brand_id, []))
    day = _day(body["date"], "date")
    # config_dict: the API's own client, or the one setup_api lends the web page's app
    client = request.config_dict.get(IYS_CLIENT)
    if client is None:
        raise Problem(409, "İYS is not configured in this process: nothing was run",
                      title="İYS not reachable from here")
    report = await reconcile_audited.run_day(pool, client, brand_id, day,
                                             agree=bool(body.get("agree")), actor=actor)
    return web.json_response(await _answer(pool, brand_id, [report]))

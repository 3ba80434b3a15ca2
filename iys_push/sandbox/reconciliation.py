"""Reconciliation ("Mutabakat", IYS_API.md §2.9): the day's movement file, its counts, the
agreement hash and the agreement itself; plus a hook that makes drift happen.

The file holds the brand's movements whose creationDate falls on ``reportDate`` (Turkey
time), every source, as CSV ``creationDate,transactionId,recipient,recipientType,type,
status,consentDate,source`` sorted by creationDate then transactionId; 204 when there are
none. The agreement's ``hashValue`` is the SHA-384 (hex) of the file exactly as served.
``reportDate`` must be ``YYYY-MM-DD`` (H501) and at most 7 days back (H502).

Drift (``POST /_sandbox/reconciliation-drift``): ``lose`` lists transaction ids of accepted
movements İYS then "loses" (gone from its records and its files; the key falls back to its
movement before); ``movement`` records a movement of any source that nobody is told about
(no push; the pull feed shows it only after its hour).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from iys_push.sandbox.http_common import (
    SANDBOX_STATE,
    authorise,
    authorised_body,
    errors,
    movement_body,
)
from iys_push.sandbox.rules import Consent, Movement
from iys_push.sandbox.state import SandboxState
from iys_push.timefmt import TR, format_iys, parse_iys

COLUMNS = "creationDate,transactionId,recipient,recipientType,type,status,consentDate,source"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def add_routes(r: web.UrlDispatcher, brand: str) -> None:
    r.add_get(brand + "/changes/{report_date}/file", day_file)
    r.add_get(brand + "/changes/{report_date}/recipients/{recipient_type}", day_counts)
    r.add_get(brand + "/agreements/{report_date}", agreement)
    r.add_put(brand + "/agreements/{report_date}", put_agreement)
    r.add_post("/_sandbox/reconciliation-drift", admin_drift)


def _day(request: web.Request) -> date | web.Response:
    text = request.match_info["report_date"]
    state = request.app[SANDBOX_STATE]
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        return errors(422, {"code": "H501", "message": "Tarih yyyy-aa-gg formatında olmalıdır.",
                            "location": ["reportDate"], "value": text})
    today = state.clock.now().astimezone(TR).date()
    if day < today - timedelta(days=7):
        return errors(422, {"code": "H502", "message": "Tarih en fazla 7 gün öncesi olabilir.",
                            "location": ["reportDate"], "value": text})
    return day


def day_rows(state: SandboxState, brand_code: int, day: date) -> list[Movement]:
    rows = [m for m in state.movements
            if m.brand_code == brand_code and m.creation_date.astimezone(TR).date() == day]
    return sorted(rows, key=lambda m: (m.creation_date, m.transaction_id))


def file_bytes(rows: list[Movement]) -> bytes:
    lines = [COLUMNS] + [",".join((
        format_iys(m.creation_date), m.transaction_id, m.recipient, m.recipient_type, m.type,
        m.status, format_iys(m.consent_date) if m.consent_date else "", m.source))
        for m in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


async def _scope(request: web.Request) -> tuple[SandboxState, int, date] | web.Response:
    auth = authorise(request)
    if isinstance(auth, web.Response):
        return auth
    day = _day(request)
    if isinstance(day, web.Response):
        return day
    return request.app[SANDBOX_STATE], auth[1], day


async def day_file(request: web.Request) -> web.Response:
    got = await _scope(request)
    if isinstance(got, web.Response):
        return got
    rows = day_rows(*got)
    if not rows:
        return web.Response(status=204)
    return web.Response(body=file_bytes(rows), content_type="text/csv", charset="utf-8")


async def day_counts(request: web.Request) -> web.Response:
    got = await _scope(request)
    if isinstance(got, web.Response):
        return got
    recipient_type = request.match_info["recipient_type"]
    if recipient_type not in ("BIREYSEL", "TACIR"):
        return errors(422, {"code": "H116", "message": "recipientType geçersiz.",
                            "location": ["recipientType"], "value": recipient_type})
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    for m in day_rows(*got):
        if m.recipient_type != recipient_type:
            continue
        side = "IYS" if m.source.startswith("IYS_") else "HS"
        c = counts.setdefault((m.type, side), {"type": m.type, "source": side, "approval": 0,
                                               "rejection": 0, "pending": 0, "total": 0})
        c["approval" if m.status == "ONAY" else "rejection"] += 1
        c["total"] += 1
    return web.json_response({"reportDate": got[2].isoformat(), "recipientType": recipient_type,
                              "list": sorted(counts.values(),
                                             key=lambda c: (c["type"], c["source"]))})


async def agreement(request: web.Request) -> web.Response:
    got = await _scope(request)
    if isinstance(got, web.Response):
        return got
    state, brand_code, day = got
    rows = day_rows(state, brand_code, day)
    if not rows:
        return web.Response(status=204)
    return web.json_response({
        "processStatus": "COMPLETED", "hashMethod": "SHA-384",
        "hashValue": hashlib.sha384(file_bytes(rows)).hexdigest(),
        "agreementStatus": state.agreements.get((brand_code, day.isoformat()), False)})


async def put_agreement(request: web.Request) -> web.Response:
    got = await authorised_body(request)
    if isinstance(got, web.Response):
        return got
    brand_code, body = got
    day = _day(request)
    if isinstance(day, web.Response):
        return day
    if not isinstance(body, dict) or body.get("agreementStatus") is not True:
        return errors(422, {"code": "H512", "message": "agreementStatus yalnızca true olabilir.",
                            "location": ["agreementStatus"],
                            "value": body.get("agreementStatus") if isinstance(body, dict)
                            else body})
    request.app[SANDBOX_STATE].agreements[(brand_code, day.isoformat())] = True
    return web.json_response({"agreementCaptured": True})


async def admin_drift(request: web.Request) -> web.Response:
    """Body: ``lose`` (transaction ids the file leaves out), ``movement`` (brandCode,
    recipient, status; optional type, recipientType, source (HS_WEB), consentDate, at:
    its creation time, default now), ``clear`` (forget the losses)."""
    state = request.app[SANDBOX_STATE]
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return web.json_response({"error": "JSON object expected"}, status=400)
    lose = body.get("lose") or []
    if not isinstance(lose, list) or not all(isinstance(t, str) for t in lose):
        return web.json_response({"error": "lose: a list of transaction ids"}, status=400)
    answer: dict[str, Any] = {"lost": _lose(state, set(lose))}
    m = body.get("movement")
    if m is not None:
        if not isinstance(m, dict) or not {"brandCode", "recipient", "status"} <= set(m):
            return web.json_response({"error": "movement: brandCode, recipient, status"},
                                     status=400)
        at = _moment(m.get("at")) or state.clock.now()
        consent = Consent(m["recipient"], m.get("type", "MESAJ"), m["status"],
                          m.get("recipientType", "BIREYSEL"), None,
                          _moment(m.get("consentDate")) or at, m)
        recorded = state.record(int(m["brandCode"]), consent,
                                source=m.get("source", "HS_WEB"), when=at)
        answer["movement"] = movement_body(recorded)
    return web.json_response(answer)


def _lose(state: SandboxState, transaction_ids: set[str]) -> int:
    """Forget movements; each key they touched falls back to its latest remaining one."""
    gone = [m for m in state.movements if m.transaction_id in transaction_ids]
    state.movements[:] = [m for m in state.movements if m.transaction_id not in transaction_ids]
    for m in gone:
        key = (m.brand_code, m.recipient, m.recipient_type, m.type)
        rest = [r for r in state.movements
                if (r.brand_code, r.recipient, r.recipient_type, r.type) == key]
        if rest:
            state.current[key] = max(rest, key=lambda r: r.creation_date)
        else:
            state.current.pop(key, None)
    return len(gone)


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_iys(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=TR)

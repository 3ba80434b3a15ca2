"""Event endpoints: a brand's messages and consent events (filters, cursor pages, CSV), one
recipient's full history (the evidence), and ``explain``.

Phone numbers appear in full here: they are the brand's own recipients. They never go to
the logs.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from inbound.api import changes, csv_excel, params, queries, resources
from inbound.api.auth import Caller, caller_of
from inbound.api.problems import STREAMING, Problem, invalid
from inbound.api.scope import visible_brand
from inbound.api.state import POOL
from iys_push import consent_rules
from iys_push.timefmt import iso_tr
from keywords import RuleSet, explain, match
from keywords.rules import msisdn_variants

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

OUTCOMES = ("consent", "needs_review", "ambiguous", "unknown_brand", "no_keyword", "not_text",
            "unknown_number", "invalid_sender", "incomplete")
STATES = ("pending", "accepted", "not_needed", "superseded", "duplicate", "failed", "review",
          "dismissed")
STATUSES = ("ONAY", "RET")
TYPES = ("MESAJ", "ARAMA", "EPOSTA")
EVENT_FIELDS = ("id", "message_id", "brand_id", "recipient", "recipient_type", "type", "status",
                "source", "state", "received_at", "consent_date", "deadline_at", "attempts",
                "iys_transaction_id", "iys_creation_date", "last_error_code", "last_error",
                "created_at", "updated_at", "review_decision", "reviewed_at", "reviewed_by",
                # new columns go last: spreadsheets and scripts read the CSV by position
                "submission_id")
TIME_FIELDS = frozenset({"received_at", "consent_date", "deadline_at", "iys_creation_date",
                         "created_at", "updated_at", "reviewed_at"})
CSV_BATCH = 1000  # rows encoded and written at a time: bounds the memory of an export


# timestamps İYS wrote (in Turkey time): shown in Turkey time, as İYS wrote them plus the
# offset; the others are our own instants, in UTC
IYS_TIMES = frozenset({"iys_creation_date", "creation_date"})


def _jsonable(value: Any, iys_time: bool = False) -> Any:
    if isinstance(value, datetime):
        return iso_tr(value) if iys_time else value.isoformat()
    return value


def _row(row: asyncpg.Record, iys_times: frozenset[str] = IYS_TIMES) -> dict[str, Any]:
    return {k: _jsonable(v, k in iys_times) for k, v in row.items()}


async def _brand_scope(request: web.Request) -> tuple[asyncpg.Pool, str, list[str]]:
    """The pool, the brand id (404 unless the caller may see it) and the spellings of its
    dedicated numbers (messages to those belong to the brand whatever their outcome)."""
    pool, brand_id, _ = await visible_brand(request)
    rows = await pool.fetch(queries.SQL.dedicated_numbers, brand_id)
    dedicated = sorted({v for r in rows for v in msisdn_variants(r["msisdn"])})
    return pool, brand_id, dedicated


@routes.get("/brands/{brand_id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    pool, brand_id, dedicated = await _brand_scope(request)
    q = request.query
    limit = params.limit(q)
    rows = await pool.fetch(
        queries.SQL.list_messages, brand_id, params.cursor(q), params.recipient(q.get("recipient")),
        params.choice(q, "outcome", OUTCOMES), params.timestamp(q, "since"),
        params.timestamp(q, "until"), limit, dedicated)
    return _page([_row(r) for r in rows], limit)


def _event_filters(q: Any) -> tuple[Any, ...]:
    return (params.recipient(q.get("recipient")), params.choice(q, "status", STATUSES),
            params.choice(q, "state", STATES), params.choice(q, "type", TYPES),
            params.timestamp(q, "since"), params.timestamp(q, "until"))


@routes.get("/brands/{brand_id}/events")
async def list_events(request: web.Request) -> web.Response:
    pool, brand_id, _ = await _brand_scope(request)
    q = request.query
    limit = params.limit(q)
    rows = await pool.fetch(queries.SQL.list_events, brand_id, params.cursor(q), *_event_filters(q),
                            limit)
    return _page([_row(r) for r in rows], limit)


def _page(items: list[dict[str, Any]], limit: int) -> web.Response:
    next_cursor = params.encode_cursor(items[-1]["id"]) if len(items) == limit else None
    return web.json_response({"items": items, "next_cursor": next_cursor})


def _csv_cell(value: Any, iys_time: bool = False,
              layout: csv_excel.Layout | None = None) -> Any:
    excel = layout.cell(value) if layout else None
    value = excel if excel is not None else _jsonable(value, iys_time)
    # free text starting like a formula is neutralised for spreadsheets (CSV injection)
    if isinstance(value, str) and value[:1] in ("=", "@", "-"):
        return "'" + value
    return value


@routes.get("/brands/{brand_id}/events.csv")
async def export_events(request: web.Request) -> web.StreamResponse:
    """Stream every matching event as CSV, oldest first (receipt time, then id), a page of
    ``CSV_BATCH`` rows at a time (keyset on the last row, one snapshot): memory stays bounded
    whatever the number of events, and the first rows leave at once, however far back
    ``from`` is (consent_event_brand_time_idx)."""
    pool, brand_id, _ = await _brand_scope(request)
    filters = _event_filters(request.query)
    after = params.cursor(request.query)
    layout = csv_excel.Layout(request.query)
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{brand_id}-events.csv"'})
    buffer = io.StringIO(layout.start())
    buffer.seek(0, io.SEEK_END)
    writer = csv.writer(buffer, lineterminator="\r\n", delimiter=layout.delimiter)
    writer.writerow(layout.header(EVENT_FIELDS, TIME_FIELDS))
    # one snapshot for every page: the export is what the database held when it began
    async with pool.acquire() as conn, conn.transaction(readonly=True,
                                                        isolation="repeatable_read"):
        await response.prepare(request)
        request[STREAMING] = True
        count = 0
        while True:
            rows = await conn.fetch(queries.SQL.export_events, brand_id, after, *filters,
                                    CSV_BATCH)
            for row in rows:
                writer.writerow([_csv_cell(row[f], f in IYS_TIMES, layout) for f in EVENT_FIELDS])
            count += len(rows)
            await response.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
            if len(rows) < CSV_BATCH:
                break
            after = rows[-1]["id"]
    await response.write_eof()
    log.info("events exported", brand=brand_id, rows=count)
    return response


@routes.get("/brands/{brand_id}/recipients/{recipient}")
async def recipient_history(request: web.Request) -> web.Response:
    """Everything about one recipient for this brand: each message with its raw PDUs and
    decoded text, each consent event with every İYS request and answer, and the changes
    İYS reported from elsewhere (e-Devlet, 3338)."""
    pool, brand_id, dedicated = await _brand_scope(request)
    recipient = history_recipient(request.match_info["recipient"])
    messages = [_row(r) for r in await pool.fetch(queries.SQL.recipient_messages, brand_id,
                                                 recipient, dedicated)]
    events = [_row(r) for r in await pool.fetch(queries.SQL.recipient_events, brand_id, recipient)]
    message_ids = [m["id"] for m in messages] + [e["message_id"] for e in events
                                                 if e["message_id"] is not None]
    pdus: dict[int, list[dict[str, Any]]] = {}
    for r in await pool.fetch(queries.SQL.recipient_pdus, message_ids):
        pdu = _row(r)
        pdu["pdu_base64"] = base64.b64encode(pdu.pop("pdu")).decode()
        pdus.setdefault(pdu.pop("message_id"), []).append(pdu)
    attempts: dict[int, list[dict[str, Any]]] = {}
    for r in await pool.fetch(queries.SQL.event_attempts, [e["id"] for e in events]):
        attempt = _row(r)
        attempts.setdefault(attempt.pop("event_id"), []).append(attempt)
    for message in messages:
        message["pdus"] = pdus.get(message["id"], [])
    for event in events:
        event["iys_attempts"] = attempts.get(event["id"], [])
    changes_ = [_row(r, IYS_TIMES | {"consent_date"})
                for r in await pool.fetch(queries.SQL.recipient_iys_changes, brand_id, recipient)]
    if not messages and not events and not changes_:
        raise Problem(404, "no message or event of this recipient for this brand")
    submissions = [_row(r) for r in await pool.fetch(queries.SQL.recipient_submissions, brand_id,
                                                     recipient)]
    for s in submissions:  # jsonb arrives as its text
        s["evidence"] = json.loads(s["evidence"]) if isinstance(s["evidence"], str) else \
            s["evidence"]
    return web.json_response({"brand_id": brand_id, "recipient": recipient,
                              "messages": messages, "events": events, "iys_changes": changes_,
                              "submissions": submissions})


def history_recipient(raw: str) -> str:
    """A history's recipient: an E.164 number (``905…`` is given its plus) or, for EPOSTA
    consents, an e-mail address (lower-cased, as İYS and the events keep it)."""
    if "@" not in raw:
        return params.recipient(raw, "recipient") or ""
    value = consent_rules.normalise_recipient(raw, "EPOSTA")
    if value is None or raw != raw.strip():
        raise invalid("recipient", "expected an E.164 phone number or an e-mail address")
    return value


@routes.post("/explain")
async def explain_text(request: web.Request) -> web.Response:
    """What ``iys-inbound explain`` prints, limited to the caller's brands."""
    pool = request.app[POOL]
    caller = caller_of(request)
    body = await params.json_object(request)
    params.check_fields(body, {"number", "text"})
    number = params.text_field(body, "number", pattern=params.MSISDN, max_length=15)
    # the text of an SMS to try, as a recipient could send it: any character may be there
    text = params.text_field(body, "text", max_length=1600, allow_empty=True, shown=False)
    assert number is not None and text is not None
    config = await changes.load(pool)
    rules = RuleSet.from_dict(config.rules)
    found = rules.number_for(number)
    if found is not None and not caller.admin:
        raw = config.number(found.msisdn) or {"msisdn": found.msisdn, "shared": found.shared,
                                              "brand": found.brand}
        if not resources.number_visible(caller, config, raw):
            found = None
    if found is None and not caller.admin:
        raise Problem(404, f"number {number} not found")
    return web.json_response(_for_caller(caller, config, explain(match(text, number, rules))))


def _for_caller(caller: Caller, config: changes.Config, result: dict[str, Any]
                ) -> dict[str, Any]:
    if caller.admin:
        return result
    own = [e for e in result["events"] if resources.owns(caller, config, e["brand"])]
    if len(own) == len(result["events"]):
        return result
    # another owner's brand was named: say so without naming it
    reason = "The text names a brand of another owner on this number."
    if own:
        reason += " For your brands: " + ", ".join(f"{e['status']} {e['brand']}" for e in own)
    # a near miss stays a near miss for the caller's brands (its events await review)
    return {**result, "outcome": result["outcome"] if own else "other_brand", "events": own,
            "reason": reason}

"""The pre-send check over the API (issue #29): ``POST /brands/{brand_id}/check`` (JSON, up to
``[check] max_recipients``) and ``POST /brands/{brand_id}/check.csv`` (a CSV body of any size
streamed in, verdicts streamed out). The rules are ``inbound.presend``'s.

A stale mirror is said in the answer (``freshness.verdict``); with ``strict=true`` the check
refuses with **409** (the request is fine, the mirror's state conflicts with what it asks for:
not a 5xx, the service did not fail) and ``as_of`` in the problem's detail.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from inbound import presend, presend_live
from inbound.api import inputs, params
from inbound.api.problems import Problem, invalid
from inbound.api.scope import visible_brand
from inbound.api.state import IYS_CLIENT
from iys_push.consent_rules import RECIPIENT_TYPES, TYPES

routes = web.RouteTableDef()

BODY_FIELDS = ("type", "recipient_type", "recipients", "strict", "live")
CSV_LINE_MAX = 1024          # longer lines are one invalid input ("too_long")


def settings_of(request: web.Request) -> presend.CheckSettings:
    from inbound.http import APP_STATE

    state = request.config_dict.get(APP_STATE)
    configured = getattr(state, "check_settings", None)
    return configured if configured is not None else presend.CheckSettings()


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...],
            default: str | None) -> str:
    value = body.get(name, default)
    if value is None:
        raise invalid(name, "required")
    if value not in allowed:
        raise invalid(name, f"one of {', '.join(allowed)}")
    return value


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise invalid(name, "true or false")
    return value


def _recipients(body: dict[str, Any], limit: int) -> list[str]:
    value = body.get("recipients")
    if not isinstance(value, list) or not value:
        raise invalid("recipients", "a non-empty list of strings")
    if len(value) > limit:
        raise invalid("recipients", f"at most {limit} a request; use check.csv for more")
    for i, item in enumerate(value):
        if not isinstance(item, str) or len(item) > presend.MAX_INPUT_LENGTH:
            raise invalid(f"recipients[{i}]",
                          f"a string of at most {presend.MAX_INPUT_LENGTH} characters")
        inputs.check_storable(item, f"recipients[{i}]")
    return value


def stale_problem(check: presend.Check) -> Problem:
    f = check.freshness.to_json()
    return Problem(409, f"the İYS mirror is stale (as of {f['as_of'] or 'never'}; the limit "
                   f"is {f['max_age_seconds']:.0f} s): nothing checked because strict=true",
                   title="Mirror not fresh enough")


async def _open(request: web.Request, type_: str, recipient_type: str,
                settings: presend.CheckSettings) -> tuple[Any, presend.Check]:
    pool, brand_id, _ = await visible_brand(request)
    check = await presend.Check.open(pool, brand_id, type_, recipient_type, settings)
    if check is None:          # removed between the two reads
        raise Problem(404, f"brand {brand_id!r} not found")
    return pool, check


@routes.post("/brands/{brand_id}/check")
async def check_json(request: web.Request) -> web.Response:
    settings = settings_of(request)
    await visible_brand(request)        # 404 before the body is read
    body = await params.json_object(request, limit=settings.max_recipients * 128 + 4096)
    unknown = sorted(set(body) - set(BODY_FIELDS))
    if unknown:
        raise invalid(unknown[0], "unknown field")
    type_ = _choice(body, "type", TYPES, None)
    recipient_type = _choice(body, "recipient_type", RECIPIENT_TYPES, "BIREYSEL")
    strict, live = _flag(body, "strict"), _flag(body, "live")
    raws = _recipients(body, settings.max_recipients)
    pool, check = await _open(request, type_, recipient_type, settings)
    if strict and not check.freshness.fresh:
        raise stale_problem(check)
    normalised = check.normalised(raws)
    distinct = list(dict.fromkeys(r for r in normalised if r is not None))
    found = {r[0]: (r[1], r[2]) for r in await check.lookup(pool, distinct)}
    answer: dict[str, Any] = {"brand_id": check.brand_id, "type": type_,
                              "recipient_type": recipient_type}
    if live:
        unknown_numbers = [r for r in distinct if r not in found]
        report, listed = await presend_live.ask_unknown(
            pool, request.app.get(IYS_CLIENT), check, unknown_numbers, settings)
        if listed:     # read back: a row that arrived meanwhile wins over the live ONAY
            found.update({r[0]: (r[1], r[2]) for r in await check.lookup(pool, sorted(listed))})
        answer["live"] = report.to_json()
    allowed: list[str] = []
    blocked: list[dict[str, str]] = []
    invalid_items: list[dict[str, str]] = []
    seen: set[str] = set()
    for raw, recipient in zip(raws, normalised, strict=True):
        if recipient is None:
            invalid_items.append({"recipient": raw, "reason": check.invalid_reason(raw)})
            continue
        if recipient in seen:
            continue
        seen.add(recipient)
        why = check.why(recipient, found.get(recipient))
        if why:
            blocked.append({"recipient": recipient, "why": why})
        else:
            allowed.append(recipient)
    fresh = check.freshness.to_json()
    answer.update({"as_of": fresh["as_of"], "freshness": fresh,
                   "counts": {"allowed": len(allowed), "blocked": len(blocked),
                              "invalid": len(invalid_items)},
                   "allowed": allowed, "blocked": blocked, "invalid": invalid_items})
    return web.json_response(answer)


async def csv_chunks(request: web.Request) -> AsyncIterator[list[str]]:
    """The first column of each non-blank line of the body, ``presend.CHUNK`` at a time; a
    first line without a digit or ``@`` is a header. Never more than a chunk in memory."""
    from inbound.cli_check import first_fields, is_header

    pending = b""
    lines: list[str] = []
    first = True

    def fields_of(batch: list[str]) -> list[str]:
        nonlocal first
        fields = first_fields(batch)
        if first and fields and is_header(fields[0]):
            fields = fields[1:]
        if batch:
            first = False
        return fields

    async for block in request.content.iter_chunked(256 * 1024):
        parts = (pending + block).split(b"\n")
        pending = parts.pop()
        if len(pending) > CSV_LINE_MAX:      # keep the line as one over-long input
            pending = pending[:CSV_LINE_MAX + 1]
        lines.extend(p[:CSV_LINE_MAX + 1].decode("utf-8", "replace") for p in parts)
        if len(lines) >= presend.CHUNK:
            fields = fields_of(lines)
            lines = []
            if fields:
                yield fields
            await asyncio.sleep(0)
    if pending:
        lines.append(pending.decode("utf-8", "replace"))
    fields = fields_of(lines)
    if fields:
        yield fields


@routes.post("/brands/{brand_id}/check.csv")
async def check_csv(request: web.Request) -> web.StreamResponse:
    settings = settings_of(request)
    q = request.query
    type_ = params.choice(q, "type", TYPES)
    if type_ is None:
        raise invalid("type", "required")
    recipient_type = params.choice(q, "recipient_type", RECIPIENT_TYPES) or "BIREYSEL"
    strict = params.choice(q, "strict", ("true", "false")) == "true"
    if request.content_type not in ("text/csv", "text/plain"):
        raise Problem(415, "send the recipients as text/csv (one a line, first column)")
    pool, check = await _open(request, type_, recipient_type, settings)
    if strict and not check.freshness.fresh:
        raise stale_problem(check)
    fresh = check.freshness.to_json()
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "X-Mirror-As-Of": fresh["as_of"] or "never",
        "X-Mirror-Freshness": fresh["verdict"]})
    await response.prepare(request)
    await response.write(b"recipient,verdict,reason\n")
    async with pool.acquire() as conn:
        async for verdicts in presend.stream([conn], check, csv_chunks(request)):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(
                (v[1] or v[0], v[2], v[3]) for v in verdicts)
            await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response

"""Test and demo hooks under ``/_sandbox/`` (no authentication).

The sandbox is a development tool that listens on loopback; never expose it publicly. Every
knob here is also reachable from Python through ``SandboxServer.state`` / ``.clock`` /
``.faults``.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from iys_push.sandbox.http_common import SANDBOX_STATE, movement_body
from iys_push.sandbox.push import deliver
from iys_push.sandbox.rules import Consent
from iys_push.sandbox.state import SandboxState
from iys_push.timefmt import TR, parse_iys


def _moment(text: str) -> datetime:
    """An İYS-format time (Turkey) or an ISO time (naive means Turkey time)."""
    try:
        return parse_iys(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=TR)


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _object(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def admin_state(request: web.Request) -> web.Response:
    return web.json_response(request.app[SANDBOX_STATE].summary())


async def admin_clock(request: web.Request) -> web.Response:
    """Body keys, applied in this order: ``offset`` (seconds, running), ``at`` (absolute,
    running), ``set`` (absolute and frozen; null runs again), ``freeze`` (bool), ``advance``."""
    clock = request.app[SANDBOX_STATE].clock
    body = await _object(request)
    if body is None:
        return _bad("JSON object expected")
    try:
        if "offset" in body:
            clock.set_offset(float(body["offset"]))
        if "at" in body:
            clock.jump_to(_moment(body["at"]))
        if "set" in body:
            clock.set(_moment(body["set"]) if body["set"] else None)
        if body.get("freeze") is True:
            clock.freeze()
        elif body.get("freeze") is False:
            clock.set(None)
        if "advance" in body:
            clock.advance(float(body["advance"]))
    except (TypeError, ValueError) as exc:
        return _bad(str(exc))
    return web.json_response({"now": clock.now().isoformat(), "frozen": clock.frozen is not None})


async def admin_faults(request: web.Request) -> web.Response:
    """Set fault knobs by name (see ``state.Faults``); ``{"clear": true}`` resets them all."""
    state = request.app[SANDBOX_STATE]
    body = await _object(request)
    if body is None:
        return _bad("JSON object expected")
    faults = state.faults
    for key, value in body.items():
        if key == "clear":
            if value:  # in place: callers may hold a reference to this object
                faults.__dict__.update(type(faults)().__dict__)
        elif key == "next_errors":
            faults.next_errors.extend(value)
        elif key == "error_rates":
            faults.error_rates.update({str(k): float(v) for k, v in value.items()})
        elif key in ("outage_from", "outage_until"):
            setattr(faults, key, _moment(value) if value else None)
        elif hasattr(faults, key) and not isinstance(getattr(faults, key), deque):
            setattr(faults, key, type(getattr(faults, key))(value))
        else:
            return _bad(f"unknown knob {key}")
    return web.json_response(faults.to_dict())


async def admin_citizen_change(request: web.Request) -> web.Response:
    """Inject an İYS-side movement (e-Devlet, 3338 short number, app) for the changes feed.

    Citizens' movements bypass the provider rules (a RET via 3338 needs no earlier ONAY).
    Body: brandCode, recipient, status; optional type (MESAJ), recipientType (BIREYSEL),
    source (IYS_KISAMESAJ), consentDate (default now), push (default true: delivered to
    the brand's push registrations before this answers; the answer lists their statuses).
    """
    state = request.app[SANDBOX_STATE]
    body = await _object(request)
    if body is None or not {"brandCode", "recipient", "status"} <= set(body):
        return _bad("brandCode, recipient and status are required")
    source = body.get("source", "IYS_KISAMESAJ")
    if not str(source).startswith("IYS_"):
        return _bad("a citizen change has an IYS_* source")
    type_ = body.get("type", "MESAJ")
    recipient = body["recipient"].lower() if type_ == "EPOSTA" else body["recipient"]
    consent = Consent(recipient, type_, body["status"], body.get("recipientType", "BIREYSEL"),
                      None, _moment(body["consentDate"]) if body.get("consentDate")
                      else state.clock.now(), body)
    m = state.record(int(body["brandCode"]), consent, source=source)
    # İYS pushes it to the brand's registered endpoints ("push": false: it does not)
    pushed = await deliver(state, m) if body.get("push", True) else []
    return web.json_response({**movement_body(m), "pushed": pushed})


async def admin_seed(request: web.Request) -> web.Response:
    """Record a consent as if sent 30 days ago (no date rules): for demos and tests.

    ``recipient`` (one) or ``recipients`` (a list: many keys in one call, e.g. 100,000 ONAYs
    before a benchmark's RET wave)."""
    state = request.app[SANDBOX_STATE]
    body = await _object(request)
    if body is None or "brandCode" not in body or not ({"recipient", "recipients"} & set(body)):
        return _bad("brandCode and recipient (or recipients) are required")
    recipients = body.get("recipients") or [body["recipient"]]
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        return _bad("recipients: a list of strings expected")
    for recipient in recipients:
        seed_consent_now(state, int(body["brandCode"]), recipient, body.get("status", "ONAY"),
                         body.get("type", "MESAJ"), body.get("recipientType", "BIREYSEL"))
    return web.json_response({"ok": True, "seeded": len(recipients)})


def seed_consent_now(state: SandboxState, brand_code: int, recipient: str, status: str = "ONAY",
                     type_: str = "MESAJ", recipient_type: str = "BIREYSEL") -> None:
    when = state.clock.now() - timedelta(days=30)
    consent = Consent(recipient, type_, status, recipient_type, "HS_WEB", when, {})
    state.record(brand_code, consent)


async def admin_reset(request: web.Request) -> web.Response:
    """Forget everything (tokens, consents, batches, counters, faults, clock offset)."""
    request.app[SANDBOX_STATE].reset()
    return web.json_response({"ok": True})

"""Asynchronous batch add and its result polling (IYS_API.md §2.2, §2.3).

Items are validated synchronously (422, every error with its ``index``); the state rules are
applied later, in list order, once ``batch_result_delay`` seconds of sandbox-clock time have
passed. Due batches are processed before any other request is handled, so single adds made
after that moment see the batch's movements, as they would in İYS.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from iys_push.sandbox.http_common import (
    SANDBOX_STATE,
    authorise,
    authorised_body,
    errors,
    movement_body,
)
from iys_push.sandbox.rules import Consent, business_rule, error, validate
from iys_push.sandbox.state import Batch, SandboxState
from iys_push.timefmt import format_iys

MAX_BATCH_ITEMS = 1000
RESULTS_KEPT = timedelta(days=60)


async def add_batch(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    checked = await authorised_body(request)
    if isinstance(checked, web.Response):
        return checked
    brand_code, body = checked
    if not isinstance(body, list):
        return errors(400, error("H092"))
    if len(body) > MAX_BATCH_ITEMS:
        return errors(422, {"code": "H091", "message": "En fazla 1000 izin gönderilebilir.",
                            "location": ["consents"], "value": len(body)})
    now = state.clock.now()
    problems: list[dict[str, Any]] = []
    consents: list[Consent] = []
    seen: set[tuple[str, str, str]] = set()
    for i, item in enumerate(body):
        consent, errs = validate(item, now, index=i)
        problems += errs
        if consent is not None:
            # one movement per key per list (§2.2): the later duplicate is the one reported
            if consent.key_tail in seen:
                problems.append(error("H194", "recipient", consent.recipient, i))
            seen.add(consent.key_tail)
            consents.append(consent)
    if problems:
        return errors(422, *problems)
    request_id = str(uuid.uuid4())
    items = [(c, str(uuid.uuid4())) for c in consents]
    state.batches[request_id] = Batch(request_id, brand_code, now, items,
                                      v2=request.path.startswith("/v2/"))
    subs = [{**c.raw, "recipientType": c.recipient_type, "subRequestId": sid,
             "creationDate": format_iys(now)} for c, sid in items]
    return web.json_response({"requestId": request_id, "subRequests": subs}, status=202)


def _already_recorded(consent: Consent, current: Any) -> bool:
    return (current is not None and current.status == consent.status
            and current.consent_date == consent.consent_date
            and current.source == (consent.source or current.source))


def process_batch(state: SandboxState, batch: Batch,
                  when: datetime | None = None) -> list[dict[str, Any]]:
    """Apply the state rules to every item in list order; → the §2.3 result array."""
    results: list[dict[str, Any]] = []
    for index, (consent, sub_id) in enumerate(batch.items):
        key = (batch.brand_code, *consent.key_tail)
        current = state.current.get(key)
        extra: dict[str, Any] = {"isAddConsentV2Service": True} if batch.v2 else {}
        if batch.v2 and _already_recorded(consent, current):
            # v2 resend of a recorded consent: say who recorded it first, write nothing
            results.append({"requestId": batch.request_id, "subRequestId": sub_id,
                            "index": index, "status": "success", **movement_body(current),
                            **extra, "originalRequestInformation": current.origin or {}})
            continue
        rule = business_rule(consent, current)
        if rule is not None:
            results.append({"subRequestId": sub_id, "index": index, "status": "failure",
                            "error": rule, **extra})
            continue
        m = state.record(batch.brand_code, consent, when=when)
        m.origin = {"requestId": batch.request_id, "subRequestId": sub_id}
        results.append({"requestId": batch.request_id, "subRequestId": sub_id, "index": index,
                        "status": "success", **movement_body(m), **extra})
    return results


def process_due_batches(state: SandboxState) -> None:
    """Process, in submission order, every batch whose delay has passed on the sandbox clock."""
    now = state.clock.now()
    delay = timedelta(seconds=state.config.batch_result_delay)
    for batch in list(state.batches.values()):
        if batch.results is None and batch.submitted + delay <= now:
            batch.results = process_batch(state, batch, when=batch.submitted + delay)


def _request_id_problem(request_id: str) -> dict[str, Any] | None:
    if len(request_id) > 36:
        return error("H198", "requestId", request_id)
    if request_id.isalpha():
        return error("H199", "requestId", request_id)
    if request_id.isdigit():
        return error("H400", "requestId", request_id)
    return None


async def batch_result(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    auth = authorise(request)
    if isinstance(auth, web.Response):
        return auth
    request_id = request.match_info["request_id"]
    problem = _request_id_problem(request_id)
    if problem is not None:
        return errors(422, problem)
    process_due_batches(state)
    batch = state.batches.get(request_id)
    if (batch is None or batch.brand_code != auth[1]
            or batch.submitted < state.clock.now() - RESULTS_KEPT):
        return web.json_response([])  # unknown or older than 60 days: empty (§2.3)
    if batch.results is None:
        if state.config.batch_pending == "empty":
            return web.json_response([])
        return web.json_response([{"index": i, "status": "enqueue", "subrequestId": sid}
                                  for i, (_, sid) in enumerate(batch.items)])
    return web.json_response(batch.results)

"""Consents from the brand's own channels (issue #28): record them, and see a recipient's state.

``POST /brands/{brand_id}/consents`` takes one consent or ``{"consents": [...]}`` (≤ 1,000),
checks every one as İYS would (``inbound.consents``) and stores them all or none
(``inbound.consent_store``); 202 with each consent's event ids and states. With an
``Idempotency-Key`` a retried request gets the first answer, the same key with another
request a 409. ``GET /brands/{brand_id}/consents?recipient=…`` answers the state known here;
``refresh=true`` asks İYS first, within the hourly budget of its status endpoint (429 with
``Retry-After`` beyond it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp import web

from inbound import consent_state, consent_store, consents
from inbound.api import inputs, params
from inbound.api.admin import AUDIT_VIA
from inbound.api.auth import Caller
from inbound.api.problems import Problem, invalid
from inbound.api.scope import visible_brand
from inbound.api.state import IYS_CLIENT
from iys_push import consent_rules

routes = web.RouteTableDef()

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")   # visible ASCII, as a header carries


def actor_of(caller: Caller, via: str = "api") -> consent_store.Actor:
    if caller.admin:
        who = f"token:{caller.token_id}" if caller.token_id else "admin"
        return consent_store.Actor(via, who, "admin")
    who = f"token:{caller.token_id}" if caller.token_id else f"owner:{caller.owner_id}"
    return consent_store.Actor(via, who, f"owner:{caller.owner_id}")


def idempotency_key(request: web.Request) -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(raw):
        raise invalid("Idempotency-Key", "1 to 200 visible ASCII characters")
    return raw


@routes.post("/brands/{brand_id}/consents")
async def record_consents(request: web.Request) -> web.Response:
    pool, brand_id, caller = await visible_brand(request)
    actor = actor_of(caller, AUDIT_VIA.get())   # 'web' when the page's form calls
    key = idempotency_key(request)
    if request.content_type != "application/json":
        raise Problem(415, "send the body as application/json")
    body = inputs.parse_json(await params.read_body(request, consents.BODY_LIMIT))
    digest = consent_store.request_digest("POST", request.path, body)
    try:
        if key is not None:
            first = await consent_store.replay(pool, actor.scope, key, digest)
            if first is not None:
                return web.json_response(first, status=202,
                                         headers={"Idempotent-Replayed": "true"})
        items, listed = consents.parse_request(body, datetime.now(UTC))
        conflicts = consents.first_movement_refusals(
            items, await consent_store.known_keys(pool, brand_id, items), listed)
        if conflicts:
            raise consents.Refused(conflicts, status=409)
        answer = await consent_store.record(pool, brand_id, items, actor,
                                            idempotency_key=key, digest=digest)
    except consent_store.IdempotencyConflict:
        consent_store.CONSENTS_REFUSED.labels(actor.via, "409").inc()
        raise Problem(409, "this Idempotency-Key was used with another request; use a new "
                      "key for a new request", title="Idempotency-Key reused",
                      errors=[{"field": "Idempotency-Key",
                               "reason": "used before with another request"}]) from None
    except Problem as problem:
        consent_store.CONSENTS_REFUSED.labels(actor.via, str(problem.status)).inc()
        raise
    return web.json_response(answer, status=202)


def recipient_query(raw: str | None) -> str:
    """The recipient of a state query: an e-mail address (lower-cased) or a Turkish phone
    number in any common form (``+90…``)."""
    if raw is None:
        raise invalid("recipient", "required")
    inputs.text(raw, "recipient", max_length=consents.RECIPIENT_MAX)
    value = consent_rules.normalise_recipient(raw, "EPOSTA" if "@" in raw else "ARAMA")
    if value is None:
        raise invalid("recipient", "expected an e-mail address or a Turkish phone number "
                      "such as 0532 123 45 67 or +905321234567")
    return value


@routes.get("/brands/{brand_id}/consents")
async def consent_state_of(request: web.Request) -> web.Response:
    pool, brand_id, _ = await visible_brand(request)
    q = request.query
    type_ = params.choice(q, "type", consent_rules.TYPES)
    recipient_type = params.choice(q, "recipient_type", consent_rules.RECIPIENT_TYPES)
    refresh = params.choice(q, "refresh", ("true", "false")) == "true"
    recipient = recipient_query(q.get("recipient"))
    keys = consent_state.keys_for(recipient, type_, recipient_type)
    refreshed = None
    client = request.app.get(IYS_CLIENT)
    if refresh and keys:
        if client is None:
            refreshed = {k: {"outcome": "error", "detail": "İYS is not configured in this "
                             "process"} for k in keys}
        else:
            result = await consent_state.refresh(pool, client, brand_id, recipient, keys)
            if isinstance(result, consent_state.status_budget.Refusal):
                raise Problem(429, f"İYS's status endpoint allows {result.limit} refreshes "
                              f"an hour here and {result.used} were used in the last hour; "
                              f"try again in {result.retry_after} s",
                              title="Refresh budget used up",
                              headers={"Retry-After": str(result.retry_after)})
            refreshed = result
    return web.json_response(await consent_state.current(pool, brand_id, recipient, keys,
                                                         refreshed))

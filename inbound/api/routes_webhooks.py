"""``/webhooks``: an owner's endpoints (issue #32). An owner sees and changes only its own;
the operator's admin token sees all and names the owner when it creates one. Another
owner's endpoint is a 404, exactly as one that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from inbound.api import params
from inbound.api.auth import Caller, caller_of
from inbound.api.problems import Problem, invalid
from inbound.api.queries import SQL as API_SQL
from inbound.api.state import POOL
from inbound.webhooks import SQL, new_secret
from inbound.webhooks.endpoints import (
    DESCRIPTION_MAX,
    MAX_OVERLAP_HOURS,
    URL_MAX,
    EndpointInput,
    EndpointInputError,
    attempt_view,
    create,
    view,
)
from inbound.webhooks.safety import AddressPolicy

routes = web.RouteTableDef()
# set by the service on its main application (found through config_dict from /api/v1)
POLICY: web.AppKey[AddressPolicy] = web.AppKey("iys_webhook_policy", AddressPolicy)
FIELDS = ("url", "events", "brands", "recipient", "description", "owner_id")


def _policy(request: web.Request) -> AddressPolicy:
    return request.config_dict.get(POLICY, AddressPolicy())


def _scope(caller: Caller) -> int | None:
    return None if caller.admin else caller.owner_id


def _now() -> datetime:
    return datetime.now(UTC)


async def _endpoint(request: web.Request) -> tuple[asyncpg.Pool, int, Caller]:
    pool, caller = request.app[POOL], caller_of(request)
    endpoint_id = params.path_id(request, "webhook_id")
    if await pool.fetchrow(SQL.endpoint, endpoint_id, _scope(caller)) is None:
        raise Problem(404, f"webhook {endpoint_id} not found")
    return pool, endpoint_id, caller


@routes.get("/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    rows = await request.app[POOL].fetch(SQL.list_endpoints, _scope(caller_of(request)))
    return web.json_response({"items": [view(r) for r in rows]})


@routes.post("/webhooks")
async def create_webhook(request: web.Request) -> web.Response:
    caller = caller_of(request)
    body = await params.json_object(request)
    params.check_fields(body, FIELDS)
    owner_id = caller.owner_id
    if caller.admin:
        owner_id = params.int_field(body, "owner_id", maximum=2**62)
        if await request.app[POOL].fetchrow(API_SQL.owner, owner_id) is None:
            raise Problem(404, f"owner {owner_id} not found")
    elif "owner_id" in body and body["owner_id"] != caller.owner_id:
        # another owner is not revealed: as for an owner that does not exist
        params.int_field(body, "owner_id", maximum=2**62)
        raise Problem(404, f"owner {body['owner_id']} not found")
    assert owner_id is not None
    recipient = params.text_field(body, "recipient", required=False) or "masked"
    if recipient not in ("masked", "full"):
        raise invalid("recipient", "masked or full")
    given = EndpointInput(
        url=params.text_field(body, "url", max_length=URL_MAX) or "",
        events=params.string_list(body, "events", max_items=10, max_length=40) or [],
        brands=(None if body.get("brands") is None  # null or absent: every brand
                else params.string_list(body, "brands", max_items=1000, max_length=63)),
        full_recipient=recipient == "full",
        description=params.text_field(body, "description", required=False,
                                      max_length=DESCRIPTION_MAX, allow_empty=True) or "")
    try:
        created = await create(request.app[POOL], owner_id, given, _policy(request))
    except EndpointInputError as exc:
        raise invalid(exc.field, exc.reason) from None
    return web.json_response(created, status=201)


@routes.get("/webhooks/{webhook_id}")
async def get_webhook(request: web.Request) -> web.Response:
    pool, endpoint_id, caller = await _endpoint(request)
    return web.json_response(view(await pool.fetchrow(SQL.endpoint, endpoint_id,
                                                      _scope(caller))))


@routes.delete("/webhooks/{webhook_id}")
async def delete_webhook(request: web.Request) -> web.Response:
    pool, endpoint_id, caller = await _endpoint(request)
    await pool.fetchval(SQL.delete_endpoint, endpoint_id, _scope(caller))
    return web.Response(status=204)


async def _optional_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    return await params.json_object(request)


@routes.post("/webhooks/{webhook_id}/rotate")
async def rotate_secret(request: web.Request) -> web.Response:
    """A new secret; the old one keeps signing (both sent) for ``overlap_hours``."""
    pool, endpoint_id, caller = await _endpoint(request)
    body = await _optional_body(request)
    params.check_fields(body, ("overlap_hours",))
    hours = params.int_field(body, "overlap_hours", required=False, minimum=0,
                             maximum=MAX_OVERLAP_HOURS)
    until = _now() + timedelta(hours=24 if hours is None else hours)
    secret = new_secret()
    row = await pool.fetchrow(SQL.rotate_secret, endpoint_id, _scope(caller), secret, until)
    return web.json_response({**view(row), "secret": secret})


@routes.post("/webhooks/{webhook_id}/resume")
async def resume(request: web.Request) -> web.Response:
    pool, endpoint_id, caller = await _endpoint(request)
    row = await pool.fetchrow(SQL.resume_endpoint, endpoint_id, _scope(caller), _now())
    return web.json_response(view(row))


@routes.post("/webhooks/{webhook_id}/replay")
async def replay(request: web.Request) -> web.Response:
    """Every event since ``since`` that the endpoint wants, delivered again (same ids)."""
    pool, endpoint_id, caller = await _endpoint(request)
    body = await params.json_object(request)
    params.check_fields(body, ("since",))
    raw = params.text_field(body, "since", max_length=40, shown=False) or ""
    from inbound.api import inputs

    since = inputs.date_time(raw, "since")
    row = await pool.fetchrow(SQL.replay, endpoint_id, _scope(caller), since, _now())
    return web.json_response({"replayed": row["replayed"]})


@routes.get("/webhooks/{webhook_id}/deliveries")
async def deliveries(request: web.Request) -> web.Response:
    pool, endpoint_id, caller = await _endpoint(request)
    limit = params.limit(request.query)
    rows = await pool.fetch(SQL.attempts, endpoint_id, _scope(caller),
                            params.cursor(request.query), limit)
    items = [attempt_view(r) for r in rows]
    next_cursor = params.encode_cursor(items[-1]["id"]) if len(items) == limit else None
    return web.json_response({"items": items, "next_cursor": next_cursor})

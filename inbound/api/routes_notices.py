"""``/notices``: an owner's e-mail notice subscriptions through the API (issue #32 item 6;
until now the CLI and the Webhooks page only). Reading needs the role viewer, subscribing
and removing the role admin (inbound/roles.py: a write nobody listed needs admin; an API
token has no person behind it, so "one's own address" has no meaning here). An owner sees
and changes only its own subscriptions; another owner's is a 404, as one that does not
exist. The operator sees all and names the owner when it subscribes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inbound import sqlfile
from inbound.api import params
from inbound.api.auth import Caller, caller_of
from inbound.api.problems import Problem, invalid
from inbound.api.queries import SQL as API_SQL
from inbound.api.state import POOL
from inbound.notices import KINDS, valid_email

routes = web.RouteTableDef()
SQL = sqlfile.load("inbound", "sql/notices_api.sql")
FIELDS = ("email", "digest", "immediate", "owner_id")
EMAIL_MAX = 254


def _scope(caller: Caller) -> int | None:
    return None if caller.admin else caller.owner_id


def view(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "owner_id": row["owner_id"], "email": row["email"],
            "digest": row["digest"], "immediate": [k for k in row["immediate"] if k in KINDS],
            "created_at": row["created_at"].isoformat()}


@routes.get("/notices")
async def list_notices(request: web.Request) -> web.Response:
    rows = await request.app[POOL].fetch(SQL.api_list_notices, _scope(caller_of(request)))
    return web.json_response({"items": [view(r) for r in rows]})


@routes.post("/notices")
async def subscribe(request: web.Request) -> web.Response:
    """Subscribe an address, or change its choices (the same owner and address: one row)."""
    caller = caller_of(request)
    pool = request.app[POOL]
    body = await params.json_object(request)
    params.check_fields(body, FIELDS)
    owner_id = caller.owner_id
    if caller.admin:
        owner_id = params.int_field(body, "owner_id", maximum=2**62)
        if await pool.fetchrow(API_SQL.owner, owner_id) is None:
            raise Problem(404, f"owner {owner_id} not found")
    elif "owner_id" in body and body["owner_id"] != caller.owner_id:
        params.int_field(body, "owner_id", maximum=2**62)
        raise Problem(404, f"owner {body['owner_id']} not found")  # not revealed
    email = params.text_field(body, "email", max_length=EMAIL_MAX) or ""
    if not valid_email(email):
        raise invalid("email", "an e-mail address (name@domain.tld)")
    digest = params.bool_field(body, "digest", default=True)
    kinds = params.string_list(body, "immediate", max_items=len(KINDS), max_length=20)
    if kinds is None:
        kinds = list(KINDS)
    for i, kind in enumerate(kinds):
        if kind not in KINDS:
            raise invalid(f"immediate[{i}]", f"one of {', '.join(KINDS)}")
    if len(set(kinds)) != len(kinds):
        raise invalid("immediate", "each kind once")
    row = await pool.fetchrow(SQL.api_subscribe_notice, owner_id, email, digest, kinds)
    return web.json_response(view(row), status=201 if row["created"] else 200)


@routes.get("/notices/{subscription_id}")
async def get_notice(request: web.Request) -> web.Response:
    subscription_id = params.path_id(request, "subscription_id")
    row = await request.app[POOL].fetchrow(SQL.api_one_notice, _scope(caller_of(request)),
                                           subscription_id)
    if row is None:
        raise Problem(404, f"subscription {subscription_id} not found")
    return web.json_response(view(row))


@routes.delete("/notices/{subscription_id}")
async def unsubscribe(request: web.Request) -> web.Response:
    subscription_id = params.path_id(request, "subscription_id")
    if await request.app[POOL].fetchval(SQL.api_unsubscribe_notice, _scope(caller_of(request)),
                                        subscription_id) is None:
        raise Problem(404, f"subscription {subscription_id} not found")
    return web.Response(status=204)

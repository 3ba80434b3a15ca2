"""Accounts: who am I, owners (operator only), and API tokens.

An owner lists, creates and revokes its own tokens; another owner's token id is answered
like one that does not exist (404). Only the operator creates admin tokens or tokens for
other owners.
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from inbound import roles
from inbound.api import admin, inputs, params, queries
from inbound.api.auth import caller_of
from inbound.api.problems import Problem, invalid
from inbound.api.state import POOL

routes = web.RouteTableDef()
DEFAULT_TOKEN_NAME = "api"  # a token created without a name; a given name may not be empty


def _id(request: web.Request, name: str) -> int:
    return params.path_id(request, name)


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    caller = caller_of(request)
    owner = None
    if caller.owner_id is not None:
        row = await request.app[POOL].fetchrow(queries.SQL.owner, caller.owner_id)
        owner = admin.owner_view(row) if row else None
    return web.json_response({"admin": caller.admin, "owner": owner,
                              "token_id": caller.token_id})


@routes.get("/owners")
async def list_owners(request: web.Request) -> web.Response:
    caller_of(request).require_admin()
    rows = await request.app[POOL].fetch(queries.SQL.list_owners)
    return web.json_response({"items": [admin.owner_view(r) for r in rows]})


@routes.post("/owners")
async def create_owner(request: web.Request) -> web.Response:
    caller = caller_of(request)
    caller.require_admin()
    body = await params.json_object(request)
    params.check_fields(body, {"name", "email"})
    name = params.text_field(body, "name")
    email = params.text_field(body, "email", required=False, max_length=254,
                              pattern=params.EMAIL, nullable=True)
    assert name is not None
    pool = request.app[POOL]
    try:
        owner_id = await admin.create_owner(pool, name, email, actor_token_id=caller.token_id)
    except asyncpg.UniqueViolationError:
        raise Problem(409, "an owner with this e-mail exists",
                      errors=[{"field": "email", "reason": "already used"}]) from None
    row = await pool.fetchrow(queries.SQL.owner, owner_id)
    return web.json_response(admin.owner_view(row), status=201)


@routes.get("/owners/{owner_id}")
async def get_owner(request: web.Request) -> web.Response:
    caller_of(request).require_admin()
    row = await request.app[POOL].fetchrow(queries.SQL.owner, _id(request, "owner_id"))
    if row is None:
        raise Problem(404, "owner not found")
    return web.json_response(admin.owner_view(row))


@routes.delete("/owners/{owner_id}")
async def delete_owner(request: web.Request) -> web.Response:
    """Delete an owner and its tokens; its brands stay (unassigned) with their evidence."""
    caller = caller_of(request)
    caller.require_admin()
    owner_id = _id(request, "owner_id")
    pool = request.app[POOL]
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries.SQL.owner, owner_id)
        if row is None:
            raise Problem(404, "owner not found")
        await conn.execute(queries.SQL.delete_owner, owner_id)
        await admin.audit(conn, actor_token_id=caller.token_id, actor_owner_id=None,
                          actor_admin=True, action="delete", resource="owner",
                          resource_id=str(owner_id), owner_ids=[owner_id],
                          before=admin.owner_view(row), after=None)
    return web.Response(status=204)


@routes.get("/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    caller = caller_of(request)
    scope = None if caller.admin else caller.owner_id
    rows = await request.app[POOL].fetch(queries.SQL.list_tokens, scope)
    return web.json_response({"items": [admin.token_view(r) for r in rows]})


@routes.post("/tokens")
async def create_token(request: web.Request) -> web.Response:
    """A new token, shown in this answer only (``token``); keep it, it cannot be shown again."""
    caller = caller_of(request)
    body = await params.json_object(request)
    params.check_fields(body, {"name", "owner_id", "admin", "role"})
    role = body.get("role", "admin")
    if role not in roles.ROLES:
        raise invalid("role", f"one of {', '.join(roles.ROLES)}")
    name = params.text_field(body, "name", required=False) or DEFAULT_TOKEN_NAME
    want_admin = bool(params.bool_field(body, "admin", default=False))
    owner_id = params.int_field(body, "owner_id", required=False, maximum=inputs.ID_MAX)
    pool = request.app[POOL]
    if not caller.admin:
        if want_admin or owner_id not in (None, caller.owner_id):
            raise Problem(403, "an owner creates tokens for itself only",
                          errors=[{"field": "owner_id" if owner_id else "admin",
                                   "reason": "admin only"}])
        owner_id = caller.owner_id
    elif owner_id is not None and await pool.fetchrow(queries.SQL.owner, owner_id) is None:
        # well-formed, but not there now: a conflict with the current state, not bad input
        raise Problem(409, f"there is no owner {owner_id}",
                      errors=[{"field": "owner_id", "reason": "no such owner"}])
    elif owner_id is None and not want_admin:
        # what the operator's token may not do (it belongs to no owner), not a malformed body
        raise Problem(403, "the operator's token belongs to no owner: name the owner "
                      "(owner_id) or ask for an admin token (admin: true)",
                      errors=[{"field": "owner_id", "reason": "required unless admin"}])
    token, view = await admin.issue_token(
        pool, owner_id=owner_id, admin=want_admin, name=name, actor_token_id=caller.token_id,
        actor_owner_id=None if caller.admin else caller.owner_id, role=role)
    return web.json_response({**view, "token": token}, status=201)


@routes.get("/tokens/{token_id}")
async def get_token(request: web.Request) -> web.Response:
    caller = caller_of(request)
    scope = None if caller.admin else caller.owner_id
    row = await request.app[POOL].fetchrow(queries.SQL.token, _id(request, "token_id"), scope)
    if row is None:
        raise Problem(404, "token not found")
    return web.json_response(admin.token_view(row))


@routes.delete("/tokens/{token_id}")
async def revoke(request: web.Request) -> web.Response:
    caller = caller_of(request)
    revoked = await admin.revoke_token(
        request.app[POOL], _id(request, "token_id"),
        scope=None if caller.admin else caller.owner_id, actor_token_id=caller.token_id,
        actor_owner_id=None if caller.admin else caller.owner_id)
    if not revoked:
        raise Problem(404, "token not found (or already revoked)")
    return web.Response(status=204)

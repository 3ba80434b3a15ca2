"""Bearer tokens: random, shown once, stored as SHA-256, revocable, scoped to an owner.

A token is ``iysk_`` + 43 URL-safe characters (32 random bytes). Only its SHA-256 digest is
stored; a request's token is hashed and looked up by that digest (an index lookup on a
uniformly random value, so there is nothing for a timing attack to learn). The operator's
admin token may also come from configuration; it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from inbound import roles
from inbound.api import queries
from inbound.api.problems import Problem

TOKEN_PREFIX = "iysk_"

# paths under /api/v1 that answer without a token (the contract itself)
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json"})


@dataclass(frozen=True)
class Caller:
    """Who is asking: the operator (admin) or one brand owner."""

    admin: bool
    owner_id: int | None
    token_id: int | None  # None for the configured admin token
    role: str = "admin"   # within its owner (inbound/roles.py); the operator is above all
    user_id: int | None = None  # the web page's signed-in person

    def require_admin(self) -> None:
        if not self.admin:
            raise Problem(403, "this operation needs the operator's admin token")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="iys-inbound"'})


async def identify(pool: asyncpg.Pool, header: str | None,
                   admin_token: str | None) -> Caller:
    if not header:
        raise _unauthorized("send 'Authorization: Bearer <token>'")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Caller(admin=True, owner_id=None, token_id=None)
    row = await pool.fetchrow(queries.SQL.token_by_digest, token_digest(token))
    if row is None:
        raise _unauthorized("the token is unknown or revoked")
    return Caller(admin=row["is_admin"], owner_id=row["owner_id"], token_id=row["id"],
                  role=row["role"])


CALLER: web.RequestKey[Caller] = web.RequestKey("iys_api_caller", Caller)


def caller_of(request: web.Request) -> Caller:
    return request[CALLER]


def auth_middleware(pool: asyncpg.Pool, admin_token: str | None
                    ) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS:
            caller = await identify(pool, request.headers.get("Authorization"), admin_token)
            request[CALLER] = caller
            needed = roles.needed_for(request.method, request.path.removeprefix("/api/v1"))
            if not caller.admin and not roles.allows(caller.role, needed):
                raise Problem(403, f"this action needs the role {needed}",
                              errors=[{"field": "role", "reason": f"needs {needed}"}])
        return await handler(request)

    return middleware

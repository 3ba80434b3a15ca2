"""Which brand a request is about, and whether its caller may see it (else a 404, exactly as
for a brand that does not exist: another owner's brands are not revealed)."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from inbound.api import params, queries
from inbound.api.auth import Caller, caller_of
from inbound.api.problems import Problem
from inbound.api.state import POOL


async def visible_brand(request: web.Request) -> tuple[asyncpg.Pool, str, Caller]:
    """The pool, the path's brand id and the caller; 404 unless the caller may see it."""
    pool = request.app[POOL]
    caller = caller_of(request)
    brand_id = params.path_text(request, "brand_id", "brand")
    scope = None if caller.admin else caller.owner_id
    if await pool.fetchval(queries.SQL.brand_visible, brand_id, scope) is None:
        raise Problem(404, f"brand {brand_id!r} not found")
    return pool, brand_id, caller

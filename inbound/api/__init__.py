"""The brand-owner API under ``/api/v1`` (issue #6).

``setup_api(app, pool, admin_token=…)`` mounts it as a sub-application of the service's
aiohttp app, with its own middlewares: problem+json errors outside, bearer-token
authentication inside. See ``openapi.py`` for the contract.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import asyncpg
from aiohttp import web

from inbound.api import (
    params,
    routes_accounts,
    routes_check,
    routes_config,
    routes_consents,
    routes_events,
    routes_imports,
    routes_links,
    routes_mirror,
    routes_notices,
    routes_reviews,
    routes_rules,
    routes_webhooks,
)
from inbound.api.auth import auth_middleware
from inbound.api.openapi import document
from inbound.api.params import RULES_BODY_LIMIT
from inbound.api.problems import problem_middleware
from inbound.api.state import IYS_CLIENT, POOL

PREFIX = "/api/v1"


@cache
def query_parameters() -> dict[tuple[str, str], frozenset[str]]:
    """(METHOD, path) → the query parameters the OpenAPI document gives that operation."""
    out = {}
    for path, item in document()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                out[(method.upper(), path)] = frozenset(
                    p["name"] for p in op.get("parameters", []) if p["in"] == "query")
    return out


@web.middleware
async def query_middleware(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    """A query parameter the operation does not have is refused (422 naming it), so the
    document's list of parameters is exactly what the server reads."""
    resource = request.match_info.route.resource
    if resource is not None and request.query:
        path = resource.canonical.removeprefix(PREFIX)
        allowed = query_parameters().get((request.method, path))
        if allowed is not None:
            params.only(request.query, allowed)
    return await handler(request)


async def openapi_json(_: web.Request) -> web.Response:
    return web.json_response(document())


def create_api(pool: asyncpg.Pool, *, admin_token: str | None = None,
               iys_settings: Any = None) -> web.Application:
    """``iys_settings`` (iys_push.client.IysSettings): İYS as the pusher reaches it, for the
    consent state's refresh; without it a refresh says İYS is not configured here."""
    # bodies are limited per endpoint (params.read_body); this is the outer bound
    api = web.Application(client_max_size=RULES_BODY_LIMIT,
                          middlewares=[problem_middleware, auth_middleware(pool, admin_token),
                                       query_middleware])
    api[POOL] = pool
    api.router.add_get("/openapi.json", openapi_json)
    api.add_routes(routes_accounts.routes)
    api.add_routes(routes_config.routes)
    api.add_routes(routes_rules.routes)
    api.add_routes(routes_events.routes)
    api.add_routes(routes_reviews.routes)
    api.add_routes(routes_consents.routes)
    api.add_routes(routes_check.routes)
    api.add_routes(routes_mirror.routes)
    api.add_routes(routes_links.routes)
    api.add_routes(routes_webhooks.routes)
    api.add_routes(routes_notices.routes)
    api.add_routes(routes_imports.routes)
    if iys_settings is not None:
        from iys_push.client import IysClient

        client = IysClient(pool, iys_settings)
        api[IYS_CLIENT] = client

        async def close_client(_: web.Application) -> None:
            await client.close()

        api.on_cleanup.append(close_client)
    return api


def setup_api(app: web.Application, pool: asyncpg.Pool, *,
              admin_token: str | None = None, iys_settings: Any = None) -> None:
    """Add every ``/api/v1`` route to ``app`` (call before the app starts)."""
    api = create_api(pool, admin_token=admin_token, iys_settings=iys_settings)
    if IYS_CLIENT in api:  # the web page's agree button runs the same reconciliation
        app[IYS_CLIENT] = api[IYS_CLIENT]
    app.add_subapp(PREFIX, api)

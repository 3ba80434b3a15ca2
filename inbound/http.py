"""The aiohttp application: health, readiness, Prometheus metrics, the API and the web page.

``/healthz`` answers while the process runs. ``/readyz`` answers 200 only when the database
answers and every link this process owns is bound, with a JSON body that says what is not
ready. ``/metrics`` is the Prometheus text format of the default registry. The brand-owner
API lives under ``/api/v1`` and its web page under ``/ui/``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inbound import store
from inbound.api.problems import Problem, request_id, server_fault
from inbound.db import DATABASE_ERRORS
from inbound.proxies import TRUSTED_PROXIES, TrustedProxies, parse_networks

log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

APP_STATE: web.AppKey[ServiceState] = web.AppKey("state")


@dataclass
class ServiceState:
    """What the HTTP side can see of the running service."""

    pool: asyncpg.Pool
    # link name → down | connecting | bound | standby (another process owns it)
    link_states: dict[str, str] = field(default_factory=dict)
    extra_checks: list[Callable[[], tuple[str, bool]]] = field(default_factory=list)
    # İYS as the pusher reaches it (iys_push.client.IysSettings): the API's state refresh
    iys_settings: Any = None
    # [check] (inbound.presend.CheckSettings): the pre-send check's limits; None: defaults
    check_settings: Any = None
    # the İYS mirror's settings (iys_push.mirror_settings.MirrorSettings): push credentials
    mirror_settings: Any = None
    # consent links' settings (inbound.link_settings.ConsentLinkSettings; None: defaults)
    links: Any = None


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = request.app[APP_STATE]
    checks: dict[str, bool] = {}
    try:
        async with asyncio.timeout(2):
            checks["database"] = await state.pool.fetchval(store.SQL.ping) == 1
    except DATABASE_ERRORS:
        checks["database"] = False
    for name, link_state in state.link_states.items():
        # a standby process does not own the link: another one keeps it bound
        checks[f"link:{name}"] = link_state in ("bound", "standby")
    for check in state.extra_checks:
        name, ok = check()
        checks[name] = ok
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics(_: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: every answer carries the request id, and a fault nothing inside caught
    (the API and the page catch their own) is one JSON log event and a 500 problem+json,
    never aiohttp's plain-text page and multi-line traceback."""
    rid = request_id(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.setdefault("X-Request-Id", rid)
        raise
    except Exception:
        server_fault(request, "http request failed")
        response = Problem(500, f"an unexpected error occurred; it has been logged as "
                           f"request {rid}").response()
    if not response.prepared:
        response.headers.setdefault("X-Request-Id", rid)
    return response


def create_app(state: ServiceState, *, admin_token: str | None = None,
               web_secret: bytes | None = None,
               trusted_proxies: Iterable[str] = ()) -> web.Application:
    """``web_secret`` signs the web page's session cookies; every process of one service needs
    the same one. Without it a random one is made, so sessions end when the process does.
    ``trusted_proxies``: addresses and networks whose X-Forwarded-* headers are believed."""
    from inbound.api import setup_api
    from inbound.iys_inbox import setup_iys_inbox
    from inbound.web import setup_web

    app = web.Application(client_max_size=1024 * 1024, middlewares=[fault_middleware])
    app[APP_STATE] = state
    app[TRUSTED_PROXIES] = TrustedProxies(parse_networks(trusted_proxies))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    setup_api(app, state.pool, admin_token=admin_token, iys_settings=state.iys_settings)
    if not web_secret:
        log.warning("IYS_INBOUND_WEB_SECRET not set: web sessions end with this process "
                    "and are not shared with other processes")
        web_secret = secrets.token_bytes(32)
    setup_web(app, state.pool, secret=web_secret)
    setup_iys_inbox(app, state.pool, state.mirror_settings)
    from inbound.web.pages_links import setup_link_pages

    setup_link_pages(app, state.pool, secret=web_secret, settings=state.links)
    return app

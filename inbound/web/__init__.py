"""The brand owners' web page under ``/ui/`` (issue #9), served by the service's aiohttp app.

``setup_web(app, pool, secret=…)`` mounts it; ``set_password(pool, owner_id, password)`` is
for the CLI. Every page is built on the brand-owner API's handlers (``bridge.py``): the same
validation, the same scoping, the same audit of changes. Server-rendered HTML that reads well
without JavaScript; a few lines of JS make the explain box answer as one types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import BodyPartReader, web

from inbound import roles
from inbound.api.admin import AUDIT_USER, AUDIT_VIA
from inbound.api.auth import CALLER, Caller
from inbound.api.problems import Problem, server_fault
from inbound.api.state import POOL
from inbound.web import (
    auth,
    expired,
    pages_accounts,
    pages_brands,
    pages_consents,
    pages_events,
    pages_imports,
    pages_mirror,
    pages_overview,
    pages_reviews,
    pages_sign_in,
    pages_status,
    pages_webhooks,
)
from inbound.web.auth import set_password
from inbound.web.catalogue import say
from inbound.web.html import LANGS, Html, esc, layout, tr
from inbound.web.limits import FailedSignIns
from inbound.web.state import FAILED_SIGN_INS, LANG, MULTIPART, SECRET, SESSION

__all__ = ["PREFIX", "set_password", "setup_web"]

log = structlog.get_logger(__name__)
PREFIX = "/ui"
PUBLIC = frozenset({"/ui/login", "/ui/lang", "/ui/static/app.js"})
LANG_COOKIE = "iys_lang"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error_page(request: web.Request, status: int, message: str) -> web.Response:
    lang = request.get(LANG, "tr")
    session = request.get(SESSION)
    body = Html(f'<p class="err" role="alert">{esc(message)}</p>')
    page = layout(lang, tr(lang, "error"), body, csrf=session.csrf if session else None,
                  owner=f"{session.email} · {session.name}" if session else None,
                  path=request.path, role=session.role if session else "viewer")
    return web.Response(status=status, text=page, content_type="text/html")


async def _csrf_ok(request: web.Request, session: auth.Session) -> bool:
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.content_type == "multipart/form-data":
        # a file upload (pages_imports): streamed, never read whole; its form puts the csrf
        # field first, and the handler reads the rest from the same reader
        reader = await request.multipart()
        part = await reader.next()
        if isinstance(part, BodyPartReader) and part.name == "csrf":
            token = (await part.read_chunk(400)).decode("utf-8", "replace")
            request[MULTIPART] = reader
    elif token is None and request.content_type == "application/x-www-form-urlencoded":
        token = (await request.post()).get("csrf")  # type: ignore[assignment]
    return auth.same(token if isinstance(token, str) else None, session.csrf)


def _middleware(pool: asyncpg.Pool, secret: bytes) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        lang = request.cookies.get(LANG_COOKIE, "tr")
        request[LANG] = lang if lang in LANGS else "tr"
        AUDIT_VIA.set("web")  # this request's task only: changes made here are the page's
        try:
            response = await _dispatch(request, handler, pool, secret)
        except Problem as problem:
            message = say(problem.detail, request[LANG])
            if problem.status == 404:
                message = tr(request[LANG], "not_found")
            response = _error_page(request, problem.status, message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            message = tr(request[LANG], "not_found" if exc.status == 404 else "error")
            response = _error_page(request, exc.status, message)
        except Exception:
            # one JSON log event with the request id; the page's own error page (with the
            # headers below), never aiohttp's plain text
            rid = server_fault(request, "web request failed")
            response = _error_page(request, 500, f"{tr(request[LANG], 'server_error')} "
                                   f"({rid})")
            response.headers["X-Request-Id"] = rid
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                    "img-src 'self' data:; frame-ancestors 'none'; "
                                    "form-action 'self'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path != "/ui/static/app.js":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return middleware


async def _dispatch(request: web.Request, handler: Handler, pool: asyncpg.Pool,
                    secret: bytes) -> web.StreamResponse:
    session = await auth.session_of(pool, secret, request.cookies.get(auth.SESSION_COOKIE))
    if session is not None:
        request[SESSION] = session
        request[CALLER] = Caller(admin=False, owner_id=session.owner_id, token_id=None,
                                 role=session.role, user_id=session.user_id)
        AUDIT_USER.set(session.user_id)  # this request's task only: audited with the user
    if request.path in PUBLIC:
        return await handler(request)
    if session is None:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPSeeOther("/ui/login")
        return _error_page(request, 401, tr(request[LANG], "csrf"))
    if request.method not in ("GET", "HEAD") and not await _csrf_ok(request, session):
        log.info("web csrf refused", path=request.path)
        kept = await expired.form_kept(request)
        return kept if kept is not None else _error_page(request, 403, tr(request[LANG], "csrf"))
    needed = roles.needed_for(request.method, request.path.removeprefix(PREFIX))
    if not roles.allows(session.role, needed):
        log.info("web role refused", path=request.path, role=session.role, needed=needed)
        return _error_page(request, 403, say(f"this action needs the role {needed}",
                                             request[LANG]))
    return await handler(request)


async def lang_switch(request: web.Request) -> web.StreamResponse:
    to = request.query.get("to", "tr")
    target = request.query.get("next", "/ui/")
    if not target.startswith("/ui/") or target.startswith("//") or "\\" in target:
        target = "/ui/"
    response = web.HTTPSeeOther(target)
    response.set_cookie(LANG_COOKIE, to if to in LANGS else "tr", path="/ui/",
                        max_age=365 * 86400, samesite="Lax", httponly=True)
    raise response


async def root(_: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/ui/overview")


def create_web(pool: asyncpg.Pool, *, secret: bytes,
               failed_sign_ins: FailedSignIns | None = None) -> web.Application:
    if len(secret) < 16:
        raise ValueError("the web session secret needs at least 16 bytes")
    ui = web.Application(client_max_size=64 * 1024, middlewares=[_middleware(pool, secret)])
    ui[POOL] = pool
    ui[SECRET] = secret
    ui[FAILED_SIGN_INS] = FailedSignIns() if failed_sign_ins is None else failed_sign_ins
    ui.router.add_get("/", root)
    ui.router.add_get("/lang", lang_switch)
    ui.add_routes(pages_sign_in.routes)
    ui.add_routes(pages_brands.routes)
    ui.add_routes(pages_events.routes)
    ui.add_routes(pages_reviews.routes)
    ui.add_routes(pages_consents.routes)
    ui.add_routes(pages_mirror.routes)
    ui.add_routes(pages_overview.routes)
    ui.add_routes(pages_accounts.routes)
    ui.add_routes(pages_webhooks.routes)
    ui.add_routes(pages_webhooks.pages_notices.routes)
    ui.add_routes(pages_imports.routes)
    ui.add_routes(pages_status.routes)
    return ui


def setup_web(app: web.Application, pool: asyncpg.Pool, *, secret: bytes,
              failed_sign_ins: FailedSignIns | None = None) -> None:
    """Mount the pages under ``/ui/`` (call before the app starts). ``secret`` signs the
    session cookies: at least 16 random bytes, the same in every process of the service.
    ``failed_sign_ins``: the per-address limit (default: ``inbound.web.limits``' figures)."""
    app.add_subapp(PREFIX, create_web(pool, secret=secret, failed_sign_ins=failed_sign_ins))

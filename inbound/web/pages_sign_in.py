"""Sign-in and sign-out pages (the checks themselves: inbound/web/auth.py)."""

from __future__ import annotations

import secrets

import structlog
from aiohttp import web

from inbound import metrics, proxies
from inbound.api.state import POOL
from inbound.web import auth
from inbound.web.html import esc, tr
from inbound.web.pages_brands import cookie_args, page
from inbound.web.state import FAILED_SIGN_INS, LANG, SECRET, SESSION

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


# -- sign-in -------------------------------------------------------------------------------

def _login_form(request: web.Request, pre: str, message: str | None = None) -> str:
    lang = request[LANG]
    csrf = auth.login_csrf(request.app[SECRET], pre)
    alert = f'<p class="err" role="alert">{esc(message)}</p>' if message else ""
    return (f'{alert}<form method="post" action="/ui/login" class="box">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
            f'<label for="email">{esc(tr(lang, "email"))}</label>'
            '<input id="email" name="email" type="email" autocomplete="username" required>'
            f'<label for="password">{esc(tr(lang, "password"))}</label>'
            '<input id="password" name="password" type="password" '
            'autocomplete="current-password" required>'
            f'<button class="primary" type="submit">{esc(tr(lang, "signin"))}</button></form>')


@routes.get("/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    if request.get(SESSION) is not None:
        raise web.HTTPSeeOther("/ui/overview")
    pre = request.cookies.get(auth.LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, tr(request[LANG], "signin"), _login_form(request, pre))
    response.set_cookie(auth.LOGIN_COOKIE, pre, max_age=3600, **cookie_args(request))
    return response


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    lang = request[LANG]
    form = await request.post()
    pre = request.cookies.get(auth.LOGIN_COOKIE) or ""
    title = tr(lang, "signin")
    fresh = pre or secrets.token_urlsafe(24)
    if not pre or not auth.same(str(form.get("csrf", "")), auth.login_csrf(request.app[SECRET],
                                                                          pre)):
        response = page(request, title, _login_form(request, fresh, tr(lang, "csrf")),
                        status=403)
        response.set_cookie(auth.LOGIN_COOKIE, fresh, max_age=3600, **cookie_args(request))
        return response
    # too many failures from this client (any accounts): refused before any hashing; behind
    # a trusted proxy the client is the one X-Forwarded-For names
    address = proxies.of(request).client(request)
    failures = request.app[FAILED_SIGN_INS]
    if failures.refused(address):
        log.warning("web sign-in refused: too many failed sign-ins from this client",
                    client=address)
        metrics.WEB_SIGN_IN_FAILURES.labels("address_limited").inc()
        return page(request, title, _login_form(request, pre, tr(lang, "address_limited")),
                    status=429)
    email = str(form.get("email", ""))
    result = await auth.sign_in(request.app[POOL], email, str(form.get("password", "")))
    if isinstance(result, str):
        failures.failed(address)
        locked = result in ("locked", "locked_now")
        metrics.WEB_SIGN_IN_FAILURES.labels("locked" if locked else "invalid").inc()
        log.warning("web sign-in failed", email=auth.mask_email(email), client=address,
                    reason="locked" if locked else "invalid")
        if result == "locked_now":
            metrics.WEB_SIGN_IN_LOCKOUTS.inc()
            log.warning("web sign-in locked out", email=auth.mask_email(email),
                        client=address, minutes=auth.LOCK_MINUTES)
        message = tr(lang, "locked" if locked else "bad_login")
        return page(request, title, _login_form(request, pre, message),
                    status=429 if locked else 401)
    cookie = await auth.new_session(request.app[POOL], request.app[SECRET], result)
    response = web.HTTPSeeOther("/ui/overview")
    response.set_cookie(auth.SESSION_COOKIE, cookie, max_age=auth.SESSION_HOURS * 3600,
                        **cookie_args(request))
    response.del_cookie(auth.LOGIN_COOKIE, **cookie_args(request))
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    await auth.end_session(request.app[POOL], request[SESSION])
    response = web.HTTPSeeOther("/ui/login")
    response.del_cookie(auth.SESSION_COOKIE, **cookie_args(request))
    raise response

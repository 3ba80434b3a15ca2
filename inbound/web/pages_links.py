"""The public page of a consent link (issue #30) at ``/r/{code}``: one tap to opt out (or in).

No sign-in, no cookies, no JavaScript: a small server-rendered page, Turkish first with an
English switch (``?lang=en``, carried in the form). GET and HEAD only read (a link preview
changes nothing); the button's POST carries the page's token (``link_confirm.page_token``)
and records. Unknown, expired and revoked codes get one identical page (404) after the same
single lookup, so a code cannot be probed; each address is limited in its requests and, more
tightly, in its invalid codes (``ConsentLinkSettings``; the address as ``inbound.proxies``
believes it). Brand-wide links (no recipient) ask for the number first:
``pages_link_otp``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import web

from inbound import link_confirm, link_settings, proxies
from inbound.api.problems import server_fault
from inbound.link_confirm import Link
from inbound.web.html import Html, esc
from inbound.web.limits import FailedSignIns
from inbound.web.link_words import types_in_words, word
from iys_push.timefmt import show_tr
from smpp_bind.addresses import mask_msisdn

log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("link_pool", asyncpg.Pool)
SECRET: web.AppKey[bytes] = web.AppKey("link_secret", bytes)
REQUESTS: web.AppKey[FailedSignIns] = web.AppKey("link_requests", FailedSignIns)
MISSES: web.AppKey[FailedSignIns] = web.AppKey("link_misses", FailedSignIns)
LANG: web.RequestKey[str] = web.RequestKey("link_lang", str)
FORM_LIMIT = 8 * 1024
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

routes = web.RouteTableDef()

STYLE = """
*{box-sizing:border-box}
body{font:18px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;
background:#f4f6f8;margin:0}
main{max-width:30rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
.brand{font-weight:700;font-size:1.1rem;color:#0b3a6e}
.lang{text-align:right;margin:0}
a{color:#0b4f9c}
a:focus,button:focus,input:focus,summary:focus{outline:3px solid #ffbf47;outline-offset:2px}
button{display:block;width:100%;min-height:3rem;margin:1rem 0 0;padding:.75rem 1rem;
font:inherit;font-weight:700;border-radius:6px;cursor:pointer}
button.main{background:#0b4f9c;color:#fff;border:0}
button.alt{background:#fff;color:#0b4f9c;border:2px solid #0b4f9c}
label{display:block;font-weight:600;margin-top:1rem}
input{font:inherit;width:100%;padding:.6rem;border:1px solid #595959;border-radius:6px}
.hint,.small{color:#4a4a4a;font-size:.9rem}
.err{color:#a4001d;font-weight:600}.ok{color:#1a5e20;font-weight:700}
dl{margin:1rem 0}dt{font-weight:600}dd{margin:0 0 .5rem}
details{margin-top:2rem;border-top:1px solid #c8c8c8;padding-top:.5rem;font-size:.9rem}
"""


def lang_of(request: web.Request) -> str:
    return request.get(LANG, "tr")


def page(request: web.Request, title: str, body: str, *, status: int = 200) -> web.Response:
    lang = lang_of(request)
    other = "en" if lang == "tr" else "tr"
    text = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex, nofollow">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f'<main><p class="lang"><a href="?lang={other}" lang="{other}">'
            f'{esc(word(lang, "lang_switch"))}</a></p><h1>{esc(title)}</h1>{body}</main>'
            "</body></html>")
    return web.Response(status=status, text=text, content_type="text/html")


def invalid_page(request: web.Request) -> web.Response:
    """The one answer for unknown, expired and revoked codes alike."""
    lang = lang_of(request)
    return page(request, word(lang, "invalid_title"),
                f'<p>{esc(word(lang, "invalid_text"))}</p>', status=404)


def privacy(request: web.Request, link: Link) -> Html:
    lang = lang_of(request)
    settings = link_settings.of(request)
    notice = link.privacy_notice or {}
    url = notice.get("url") if isinstance(notice.get("url"), str) else None
    text = notice.get("text") if isinstance(notice.get("text"), str) else None
    if not url and not text:
        url = settings.privacy_notice_url or None
        text = settings.privacy_notice_text or None
    inner = f"<p>{esc(text or word(lang, 'privacy_default'))}</p>"
    if url and url.startswith(("https://", "http://")):
        inner += f'<p><a href="{esc(url)}" rel="noopener">{esc(word(lang, "privacy_link"))}</a></p>'
    return Html(f'<details><summary>{esc(word(lang, "privacy"))}</summary>{inner}</details>')


def lead(lang: str, link: Link) -> str:
    key = {"RET": "ret_lead", "ONAY": "onay_lead", "choice": "choice_lead"}[link.action]
    return word(lang, key, brand=link.brand_name, types=types_in_words(lang, link.types))


def buttons(lang: str, action: str) -> str:
    ret = (f'<button class="{"alt" if action == "choice" else "main"}" type="submit" '
           f'name="status" value="RET">{esc(word(lang, "button_ret"))}</button>')
    onay = (f'<button class="main" type="submit" name="status" value="ONAY">'
            f'{esc(word(lang, "button_onay"))}</button>')
    return {"RET": ret, "ONAY": onay, "choice": onay + ret}[action]


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{name}" value="{esc(value)}">'


def link_page(request: web.Request, link: Link, *, notice: str | None = None) -> web.Response:
    lang = lang_of(request)
    if link.recipient is None:
        from inbound.web import pages_link_otp

        return pages_link_otp.number_page(request, link, notice=notice)
    token = link_confirm.page_token(request.config_dict[SECRET], link.id)
    alert = f'<p class="err" role="alert">{esc(notice)}</p>' if notice else ""
    body = (f'<p class="brand">{esc(link.brand_name)}</p>{alert}'
            f'<dl><dt>{esc(word(lang, "number"))}</dt>'
            f'<dd>{esc(mask_msisdn(link.recipient))}</dd></dl>'
            f"<p>{esc(lead(lang, link))}</p>"
            f'<form method="post">{hidden("token", token)}{hidden("lang", lang)}'
            f"{buttons(lang, link.action)}</form>"
            f'<p class="small">{esc(word(lang, "nothing_yet"))}</p>{privacy(request, link)}')
    return page(request, word(lang, "title"), body)


def result_page(request: web.Request, link: Link, result: dict[str, object], *,
                first: bool) -> web.Response:
    lang = lang_of(request)
    types = tuple(str(t) for t in result.get("types") or link.types)  # type: ignore[attr-defined]
    key = "done_ret" if result.get("status") == "RET" else "done_onay"
    when = str(result.get("consent_date", ""))
    try:
        from datetime import datetime

        shown = show_tr(datetime.fromisoformat(when))
    except ValueError:
        shown = when
    body = (f'<p class="brand">{esc(link.brand_name)}</p>'
            f'<p class="ok" role="status">'
            f'{esc(word(lang, key, brand=link.brand_name, types=types_in_words(lang, types)))}'
            f'</p><dl><dt>{esc(word(lang, "number"))}</dt>'
            f'<dd>{esc(mask_msisdn(str(result.get("recipient", ""))))}</dd>'
            f'<dt>{esc(word(lang, "recorded_at"))}</dt><dd>{esc(shown)}</dd></dl>'
            f"{privacy(request, link)}")
    return page(request, word(lang, "done_title" if first else "again_title"), body)


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {}
    try:
        data = await request.post()
    except web.HTTPException:
        raise       # too large: 413
    except Exception:
        # a body that is no form (broken multipart, bad encoding: aiohttp raises several
        # kinds): as if the page's fields were missing
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str) and len(v) <= 1000}


def client_address(request: web.Request) -> str:
    return proxies.of(request).client(request)


def _code(request: web.Request) -> str:
    return request.match_info["code"][:64]


@routes.get("/{code}")
async def show(request: web.Request) -> web.StreamResponse:
    link = await link_confirm.lookup(request.config_dict[POOL], _code(request))
    counting = request.method == "GET"   # a HEAD is a preview's probe, not an opening
    if link is None:
        if counting:
            link_confirm.LINK_INVALID.inc()
        return await _miss(request)
    if link.result is not None and link.recipient is not None:
        return result_page(request, link, link.result, first=False)
    if not link.usable:
        if counting:
            link_confirm.LINK_EXPIRED.labels(link.brand_id, link.action).inc()
        return await _miss(request)
    if counting:
        link_confirm.LINK_OPENED.labels(link.brand_id, link.action).inc()
    return link_page(request, link)


@routes.post("/{code}")
async def tap(request: web.Request) -> web.StreamResponse:
    code = _code(request)
    pool = request.config_dict[POOL]
    link = await link_confirm.lookup(pool, code)
    if link is None or (not link.usable and link.result is None):
        return await _miss(request)
    if link.recipient is None:
        from inbound.web import pages_link_otp

        return await pages_link_otp.ask_code(request, link)
    if link.result is not None:
        return result_page(request, link, link.result, first=False)
    form = await _form(request)
    opened = link_confirm.opened_at(request.config_dict[SECRET], link.id, form.get("token"))
    status = form.get("status", "RET" if link.action == "RET" else "ONAY")
    allowed = ("RET", "ONAY") if link.action == "choice" else (link.action,)
    if opened is None or status not in allowed:
        return link_page(request, link, notice=word(lang_of(request), "expired_form"))
    tap_ = link_confirm.Tap(status, link.recipient, opened, client_address(request),
                            request.headers.get("User-Agent", ""))
    try:
        result, first = await link_confirm.confirm(pool, code, tap_)
    except link_confirm.NotUsable:
        return await _miss(request)
    return result_page(request, link, result, first=first)


async def _miss(request: web.Request) -> web.Response:
    request.config_dict[MISSES].failed(client_address(request))
    return invalid_page(request)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    lang = request.query.get("lang")
    if lang not in ("tr", "en") and request.method == "POST":
        lang = (await _form(request)).get("lang")
    request[LANG] = lang if lang in ("tr", "en") else "tr"
    address = client_address(request)
    requests_, misses = request.config_dict[REQUESTS], request.config_dict[MISSES]
    try:
        if requests_.refused(address) or misses.refused(address):
            log.info("link page limited", address=link_confirm._mask_address(address))
            response = page(request, word(request[LANG], "limited_title"),
                            f'<p>{esc(word(request[LANG], "limited_text"))}</p>', status=429)
            response.headers["Retry-After"] = "60"
        else:
            requests_.failed(address)   # every request counts, whatever its outcome
            response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = invalid_page(request) if exc.status == 404 else page(
            request, word(request[LANG], "error_title"), f"<p>{esc(exc.reason)}</p>",
            status=exc.status)
    except Exception:
        rid = server_fault(request, "link page failed")
        response = page(request, word(request[LANG], "error_title"),
                        f'<p>{esc(word(request[LANG], "error_text"))} {esc(rid)}</p>',
                        status=503)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def create_link_pages(pool: asyncpg.Pool, *, secret: bytes,
                      settings: link_settings.ConsentLinkSettings | None = None
                      ) -> web.Application:
    settings = settings or link_settings.ConsentLinkSettings()
    app = web.Application(client_max_size=FORM_LIMIT, middlewares=[middleware])
    app[POOL] = pool
    app[SECRET] = secret
    app[REQUESTS] = FailedSignIns(settings.requests_per_minute, 60.0)
    app[MISSES] = FailedSignIns(settings.invalid_codes_per_10_minutes, 600.0)
    app.add_routes(routes)
    from inbound.web import pages_link_otp

    app.add_routes(pages_link_otp.routes)
    return app


def setup_link_pages(app: web.Application, pool: asyncpg.Pool, *, secret: bytes,
                     settings: link_settings.ConsentLinkSettings | None = None) -> None:
    """Mount the page under ``/r`` (call before the app starts)."""
    if settings is not None:
        app[link_settings.LINK_SETTINGS] = settings
    app.add_subapp(link_settings.MOUNT, create_link_pages(pool, secret=secret,
                                                          settings=settings))

"""E-mail notices on the Webhooks page (issue #32 item 6): the signed-in owner's users
subscribe an address to the daily digest and to immediate notices, or remove it. Scoped to
the session's owner: a subscription of another owner cannot be seen or removed."""

from __future__ import annotations

from aiohttp import web

from inbound.api.state import POOL
from inbound.notices import KINDS, SQL, valid_email
from inbound.web import can, catalogue
from inbound.web.html import esc
from inbound.web.state import LANG, SESSION

routes = web.RouteTableDef()

T: dict[str, tuple[str, str]] = {
    "notices": ("E-posta bildirimleri", "E-mail notices"),
    "hint": ("CRM'i olmayanlar için: günlük özet ve hemen bildirim.",
             "For people without a CRM: a daily digest and immediate notices."),
    "email": ("E-posta adresi", "E-mail address"),
    "digest": ("Günlük özet", "Daily digest"),
    "ret_deadline": ("Süresine 24 saatten az kalan RET", "A RET within 24 h of its deadline"),
    "review": ("İnceleme bekleyen mesaj", "A review item waiting"),
    "failed": ("İYS'nin reddettiği kayıt", "An event İYS refused"),
    "drift": ("Mutabakat farkı", "Reconciliation drift"),
    "subscribe": ("Abone ol", "Subscribe"),
    "remove": ("Kaldır", "Remove"),
    "bad_email": ("Geçerli bir e-posta adresi yazın.", "Type a valid e-mail address."),
}


t = catalogue.section("notices", T)  # folded into the one catalogue


def _csrf(request: web.Request) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'


async def section(request: web.Request, error: str | None = None) -> str:
    lang = request[LANG]
    owner = request[SESSION].owner_id
    subs = [s for s in await request.app[POOL].fetch(SQL.subscriptions)
            if s["owner_id"] == owner]
    rows = "".join(
        f'<tr><td>{esc(s["email"])}</td><td>{esc("✓" if s["digest"] else "–")}</td>'
        f'<td>{esc(", ".join(t(lang, k) for k in s["immediate"] if k in KINDS))}</td>'
        + (f'<td><form method="post" action="/ui/notices/remove" class="inline">'
           f'{_csrf(request)}<input type="hidden" name="email" value="{esc(s["email"])}">'
           f'<button type="submit" class="secondary">{esc(t(lang, "remove"))}</button>'
           '</form></td>' if can.may(request, "/notices/remove") else "")
        + '</tr>' for s in subs)
    table = ('<div class="table"><table><tbody>' + rows + '</tbody></table></div>'
             if rows else "")
    kinds = "".join(f'<label><input type="checkbox" name="immediate" value="{k}" checked> '
                    f'{esc(t(lang, k))}</label> ' for k in KINDS)
    head = (f'<section class="box" aria-labelledby="notices-h"><h2 id="notices-h">'
            f'{esc(t(lang, "notices"))}</h2><p class="hint">{esc(t(lang, "hint"))}</p>{table}')
    if not can.may(request, "/notices"):
        return head + "</section>"
    return (
        head + f'<form method="post" action="/ui/notices">{_csrf(request)}'
        f'<div><label for="n-email">{esc(t(lang, "email"))}</label>'
        f'<input id="n-email" name="email" type="email" required maxlength="254"></div>'
        f'<fieldset><legend>{esc(t(lang, "notices"))}</legend><label><input type="checkbox" '
        f'name="digest" value="1" checked> {esc(t(lang, "digest"))}</label> {kinds}</fieldset>'
        + (f'<p class="err" role="alert">{esc(error)}</p>' if error else "")
        + f'<button class="primary" type="submit">{esc(t(lang, "subscribe"))}</button>'
        '</form></section>')


@routes.post("/notices")
async def subscribe(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    email = str(data.get("email", "")).strip()
    if not valid_email(email):
        raise web.HTTPSeeOther("/ui/webhooks?notice_error=1")
    kinds = [k for k in (str(v) for v in data.getall("immediate", [])) if k in KINDS]
    await request.app[POOL].fetchrow(SQL.subscribe, request[SESSION].owner_id, email,
                                     bool(data.get("digest")), kinds)
    raise web.HTTPSeeOther("/ui/webhooks#notices-h")


@routes.post("/notices/remove")
async def unsubscribe(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    await request.app[POOL].fetchval(SQL.unsubscribe, request[SESSION].owner_id,
                                     str(data.get("email", "")))
    raise web.HTTPSeeOther("/ui/webhooks#notices-h")


def error_of(request: web.Request) -> str | None:
    return t(request[LANG], "bad_email") if request.query.get("notice_error") else None


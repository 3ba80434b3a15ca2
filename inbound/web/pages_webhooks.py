"""Webhooks on the web page (issue #32): the owner's endpoints, a form to add one (the
secret shown once), rotate, resume, delete, and each endpoint's delivery log.

Every action calls the API's own handler (``inbound.api.routes_webhooks``) through the
bridge: the same checks (a refused address shows why), the same owner scoping."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inbound.api import routes_webhooks
from inbound.api.problems import Problem
from inbound.web import bridge, can, catalogue, pages_notices
from inbound.web.catalogue import field_word, say
from inbound.web.html import Html, esc, tr
from inbound.web.html import table as html_table
from inbound.web.pages_brands import page
from inbound.web.state import LANG, SESSION
from inbound.webhooks import KINDS

routes = web.RouteTableDef()

T: dict[str, tuple[str, str]] = {
    "webhooks": ("Webhook'lar", "Webhooks"),
    "hint": ("İzin değişiklikleri CRM'inize anında, imzalı (Standard Webhooks) gider: SMS, "
             "API, bağlantı, toplu yükleme ve İYS tarafındaki (e-Devlet, 3338) hareketler. "
             "Başarısız gönderimler üç gün boyunca yeniden denenir.",
             "Consent changes reach your CRM at once, signed (Standard Webhooks): SMS, API, "
             "links, bulk imports and movements on İYS's side (e-Devlet, 3338). Failed "
             "deliveries are retried for three days."),
    "none": ("Henüz webhook yok.", "No webhooks yet."),
    "add": ("Webhook ekle", "Add a webhook"),
    "url": ("Adres (https://)", "URL (https://)"),
    "events": ("Olaylar", "Events"),
    "brands_filter": ("Markalar (virgülle; boş: hepsi)", "Brands (comma-separated; empty: all)"),
    "recipient_shown": ("Alıcı numarası", "Recipient number"),
    "masked": ("maskeli", "masked"), "full": ("tam", "full"),
    "description": ("Açıklama", "Description"),
    "save": ("Kaydet", "Save"),
    "secret_once": ("İmza anahtarı: yalnızca şimdi gösterilir, saklayın.",
                    "Signing secret: shown only now, keep it."),
    "rotate": ("Anahtarı yenile", "Rotate secret"),
    "rotate_hint": ("Eski anahtar 24 saat daha imzalar (iki imza gönderilir).",
                    "The old secret keeps signing for 24 hours (both signatures are sent)."),
    "resume": ("Devam ettir", "Resume"),
    "delete": ("Sil", "Delete"),
    "paused": ("DURDURULDU (bir gün boyunca her gönderim başarısız)",
               "PAUSED (every delivery failed for a day)"),
    "active": ("etkin", "active"),
    "log": ("Gönderim kaydı", "Delivery log"),
    "no_attempts": ("Henüz gönderim yok.", "No deliveries yet."),
    "at": ("Zaman", "At"), "outcome": ("Sonuç", "Outcome"), "latency": ("Süre (ms)", "ms"),
    "error": ("Hata", "Error"), "state": ("Durum", "State"), "actions": ("İşlem", "Actions"),
    # the event kinds: the code stays beside the word (a CRM's developer looks for it)
    "k.consent.received": ("Gelen izin ya da ret", "Consent received"),
    "k.consent.settled": ("İYS'nin sonucu", "Consent settled by İYS"),
    "k.iys.changed": ("İYS tarafındaki değişiklik", "Change on İYS's side"),
    "k.review.needed": ("İnceleme bekleyen mesaj", "Message waiting for review"),
    "k.import.finished": ("Toplu yükleme bitti", "Bulk upload finished"),
}


t = catalogue.section("webhooks", T)  # folded into the one catalogue


def _csrf(request: web.Request) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'


def _kind(lang: str, kind: str) -> str:
    """An event kind as a word, with its code (escaped markup)."""
    return f'{esc(t(lang, "k." + kind))} <code>{esc(kind)}</code>'


def _button(request: web.Request, wid: int, action: str, label: str) -> str:
    if not can.may(request, f"/webhooks/{wid}/{action}"):
        return ""
    return (f'<form method="post" action="/ui/webhooks/{wid}/{action}" class="inline">'
            f'{_csrf(request)}<button type="submit" class="secondary">{esc(label)}</button>'
            '</form>')


def _form(request: web.Request, values: dict[str, Any], error: str | None) -> str:
    lang = request[LANG]
    chosen = values.get("events") or list(KINDS[:3])
    kinds = "".join(f'<label><input type="checkbox" name="events" value="{k}"'
                    f'{" checked" if k in chosen else ""}> {_kind(lang, k)}</label> '
                    for k in KINDS)
    full = values.get("recipient") == "full"
    return (
        f'<form method="post" action="/ui/webhooks" class="box"><h2>{esc(t(lang, "add"))}</h2>'
        f'{_csrf(request)}'
        f'<div><label for="w-url">{esc(t(lang, "url"))}</label><input id="w-url" name="url" '
        f'required maxlength="2000" value="{esc(values.get("url", ""))}"></div>'
        f'<fieldset><legend>{esc(t(lang, "events"))}</legend>{kinds}</fieldset>'
        f'<div><label for="w-brands">{esc(t(lang, "brands_filter"))}</label>'
        f'<input id="w-brands" name="brands" value="{esc(values.get("brands", ""))}"></div>'
        f'<div><label for="w-rec">{esc(t(lang, "recipient_shown"))}</label>'
        f'<select id="w-rec" name="recipient"><option value="masked">{esc(t(lang, "masked"))}'
        f'</option><option value="full"{" selected" if full else ""}>{esc(t(lang, "full"))}'
        f'</option></select></div>'
        f'<div><label for="w-desc">{esc(t(lang, "description"))}</label>'
        f'<input id="w-desc" name="description" maxlength="200" '
        f'value="{esc(values.get("description", ""))}"></div>'
        + (f'<p class="err" role="alert">{esc(error)}</p>' if error else "")
        + f'<button class="primary" type="submit">{esc(t(lang, "save"))}</button></form>')


async def _listing(request: web.Request, values: dict[str, Any], error: str | None = None,
                   secret: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    lang = request[LANG]
    listing = await bridge.call(routes_webhooks.list_webhooks, request)
    parts = [f'<p class="hint">{esc(t(lang, "hint"))}</p>']
    if secret is not None:
        parts.append(f'<section class="box" role="status"><p>{esc(t(lang, "secret_once"))}</p>'
                     f'<p><strong>#{esc(secret["id"])}</strong> <code>{esc(secret["secret"])}'
                     '</code></p></section>')
    rows = []
    for w in listing["items"]:
        state = t(lang, "paused") if w["paused_at"] else t(lang, "active")
        actions = [_button(request, w["id"], "rotate", t(lang, "rotate"))]
        if w["paused_at"]:
            actions.insert(0, _button(request, w["id"], "resume", t(lang, "resume")))
        actions.append(_button(request, w["id"], "delete", t(lang, "delete")))
        rows.append((
            Html(f'<a href="/ui/webhooks/{esc(w["id"])}">#{esc(w["id"])}</a>'), w["url"],
            Html(", ".join(_kind(lang, k) for k in w["events"])),
            ", ".join(w["brands"] or []) or "*", t(lang, w["recipient"]), state,
            Html("".join(actions))))
    if rows:
        heads = ("ID", t(lang, "url"), t(lang, "events"), tr(lang, "brands"),
                 t(lang, "recipient_shown"), t(lang, "state"), t(lang, "actions"))
        parts.append(html_table(heads, rows, t(lang, "webhooks"))
                     + f'<p class="hint">{esc(t(lang, "rotate_hint"))}</p>')
    else:
        parts.append(f'<p>{esc(t(lang, "none"))}</p>')
    if can.may(request, "/webhooks"):
        parts.append(_form(request, values, error))
    parts.append(await pages_notices.section(request, pages_notices.error_of(request)))
    return page(request, t(lang, "webhooks"), "".join(parts), status=status)


@routes.get("/webhooks")
async def webhooks_page(request: web.Request) -> web.Response:
    return await _listing(request, {})


@routes.post("/webhooks")
async def add_webhook(request: web.Request) -> web.Response:
    data = await request.post()
    values: dict[str, Any] = {k: str(data.get(k, "")) for k in
                              ("url", "brands", "recipient", "description")}
    values["events"] = [str(v) for v in data.getall("events", [])]
    brands = [b.strip() for b in values["brands"].split(",") if b.strip()]
    body = {"url": values["url"].strip(), "events": values["events"],
            "brands": brands or None, "recipient": values["recipient"] or "masked",
            "description": values["description"]}
    try:
        created = await bridge.call(routes_webhooks.create_webhook, request, body=body)
    except Problem as problem:
        if problem.status not in (404, 422):
            raise
        lang = request[LANG]
        reasons = "; ".join(f'{field_word(e["field"], lang)}: {say(e["reason"], lang)}'
                            for e in problem.errors or [])
        return await _listing(request, values, reasons or say(problem.detail, lang),
                              status=422)
    return await _listing(request, {}, secret=created, status=201)


@routes.post("/webhooks/{webhook_id}/{action}")
async def act(request: web.Request) -> web.StreamResponse:
    action = request.match_info["action"]
    if action == "rotate":
        rotated = await bridge.call(routes_webhooks.rotate_secret, request, body={})
        return await _listing(request, {}, secret=rotated)
    handler = {"resume": routes_webhooks.resume,
               "delete": routes_webhooks.delete_webhook}.get(action)
    if handler is None:
        raise web.HTTPNotFound()
    await bridge.call(handler, request)
    raise web.HTTPSeeOther("/ui/webhooks")


@routes.get("/webhooks/{webhook_id}")
async def delivery_log(request: web.Request) -> web.Response:
    lang = request[LANG]
    endpoint = await bridge.call(routes_webhooks.get_webhook, request)
    log = await bridge.call(routes_webhooks.deliveries, request, query={"limit": "200"})
    rows = [(a["at"], a["type"] or "", f'{a["brand"] or ""} #{a["sequence"] or ""}',
             a["outcome"], a["http_status"] or "", a["latency_ms"], a["error"] or "")
            for a in log["items"]]
    heads = (t(lang, "at"), t(lang, "events"), tr(lang, "brands"), t(lang, "outcome"),
             "HTTP", t(lang, "latency"), t(lang, "error"))
    table = (html_table(heads, rows, t(lang, "log")) if rows
             else f'<p>{esc(t(lang, "no_attempts"))}</p>')
    return page(request, f'{t(lang, "log")}: #{endpoint["id"]} {endpoint["url"]}',
                f'<p><a href="/ui/webhooks">{esc(t(lang, "webhooks"))}</a></p>{table}')

"""Consents from other channels on the web page (issue #28): a "record a consent" form for
call-centre staff, and a recipient's consent state on the evidence page.

The form posts to the API's own handler (``routes_consents.record_consents``) through the
bridge: the same checks (a refusal shows each field's reason with İYS's code and keeps what
was typed), the same ledger, recorded ``via`` web by the signed-in owner. The date is the
moment the person gave the consent, typed in Turkish time.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web

from inbound.api import routes_consents
from inbound.api.problems import Problem
from inbound.api.scope import visible_brand
from inbound.consents import SOURCES
from inbound.web import bridge, can, formats
from inbound.web.catalogue import code, say
from inbound.web.html import Html, esc, seg, tr
from inbound.web.pages_brands import page
from inbound.web.state import LANG, SESSION
from iys_push.consent_rules import STATUSES, TYPES
from iys_push.timefmt import TR

routes = web.RouteTableDef()

LOCAL_MINUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")
FORM_FIELDS = ("recipient", "status", "source", "consent_date", "note")
def t(lang: str, key: str) -> str:
    return tr(lang, key)  # the words are in the catalogue (inbound/web/catalogue_words.py)


def _options(values: tuple[str, ...], current: str, lang: str = "", kind: str = "") -> str:
    return "".join(f'<option value="{esc(v)}"{" selected" if v == current else ""}>'
                   f'{esc(code(kind, v, lang) if kind else v)}</option>' for v in values)


def form(request: web.Request, brand_id: str, values: dict[str, Any],
         errors: list[dict[str, Any]]) -> str:
    lang = request[LANG]
    by_field: dict[str, list[str]] = {}
    for e in errors:
        name = str(e.get("field", "")).split(".")[0].split("[")[0]
        code = f' ({e["code"]})' if e.get("code") else ""
        by_field.setdefault(name, []).append(f'{say(str(e["reason"]), lang)}{code}')

    def err(name: str) -> str:
        found = by_field.get(name)
        return (f'<p class="err" id="e-{name}" role="alert">{esc("; ".join(found))}</p>'
                if found else "")

    def described(name: str) -> str:
        return f' aria-invalid="true" aria-describedby="e-{name}"' if name in by_field else ""

    chosen = values.get("type") or ["MESAJ"]
    channels = "".join(
        f'<label class="check"><input type="checkbox" name="type" value="{ty}"'
        f'{" checked" if ty in chosen else ""}> {ty}</label> ' for ty in TYPES)
    return (
        f'<form method="post" action="/ui/brands/{esc(seg(brand_id))}/consents" class="box">'
        f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'
        f'<p class="hint">{esc(t(lang, "record_hint"))}</p>'
        + can.fields(request, f"/brands/{brand_id}/consents",
        f'<div><label for="c-recipient">{esc(tr(lang, "recipient"))}</label>'
        f'<input id="c-recipient" name="recipient" required maxlength="300" '
        f'value="{esc(values.get("recipient", ""))}"{described("recipient")}>'
        f'{err("recipient")}</div>'
        f'<fieldset><legend>{esc(t(lang, "channel"))}</legend>{channels}{err("type")}'
        f'</fieldset>'
        f'<div><label for="c-status">{esc(tr(lang, "status"))}</label>'
        f'<select id="c-status" name="status">{_options(STATUSES, values.get("status", ""))}'
        f'</select>{err("status")}</div>'
        f'<div><label for="c-source">{esc(t(lang, "source"))}</label>'
        f'<select id="c-source" name="source"{described("source")}>'
        f'{_options(SOURCES, values.get("source", "HS_CAGRI_MERKEZI"), lang, "source")}</select>'
        f'{err("source")}</div>'
        f'<div><label for="c-date">{esc(t(lang, "consent_given"))} <span class="hint">'
        f'({esc(t(lang, "minute_hint"))})</span></label>'
        f'<input id="c-date" name="consent_date" type="text" required '
        f'pattern="{esc(formats.MINUTE_PATTERN)}" placeholder="GG.AA.YYYY SS:DD" '
        f'value="{esc(values.get("consent_date", ""))}"{described("consent_date")}>'
        f'{err("consent_date")}</div>'
        f'<div><label for="c-note">{esc(t(lang, "note"))}</label>'
        f'<textarea id="c-note" name="note" maxlength="500">{esc(values.get("note", ""))}'
        f'</textarea>{err("evidence")}</div>')
        + (f'<p class="err" role="alert">{esc(say(str(errors[0]["reason"]), lang))}</p>'
           if errors and not any(n in by_field for n in (*FORM_FIELDS, "type", "evidence"))
           else "")
        + can.submit_or_note(request, f"/brands/{brand_id}/consents",
                             f'<button class="primary" type="submit">{esc(t(lang, "save"))}'
                             '</button>') + '</form>')


@routes.get("/brands/{brand_id}/consents/new")
async def new_consent(request: web.Request) -> web.Response:
    brand_id = request.match_info["brand_id"]
    await visible_brand(request)   # 404 for another owner's brand
    now = datetime.now(TR).strftime("%d.%m.%Y %H:%M:%S")
    return page(request, f'{t(request[LANG], "record_consent")}: {brand_id}',
                form(request, brand_id, {"consent_date": now}, []))


def _as_body(values: dict[str, Any], who: str) -> dict[str, Any]:
    """The form as the API's consent: the typed Turkish wall-clock time with its offset."""
    raw = str(values.get("consent_date", ""))
    moment = formats.parse_local_minute(raw)
    date = moment.isoformat() if moment else raw  # else the API names the field and why
    evidence: dict[str, Any] = {"entered_by": who}
    if values.get("note"):
        evidence["note"] = values["note"]
    types = values.get("type") or []
    return {"recipient": values.get("recipient", ""), "status": values.get("status"),
            "source": values.get("source"), "consent_date": date,
            "type": types if len(types) != 1 else types[0], "evidence": evidence}


def _posted(data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(data.get(k, "")) for k in FORM_FIELDS}
    values["type"] = [str(v) for v in data.getall("type", [])]
    return values


async def kept_form(request: web.Request) -> web.Response:
    """The form as posted, with the session's token, when the posted token was stale."""
    brand_id = request.match_info.get("brand_id") or request.path.split("/")[3]
    await visible_brand(request)
    lang = request[LANG]
    return page(request, f'{t(lang, "record_consent")}: {brand_id}',
                form(request, brand_id, _posted(await request.post()),
                     [{"field": "", "reason": t(lang, "form_kept")}]), status=403)


@routes.post("/brands/{brand_id}/consents")
async def record_consent(request: web.Request) -> web.Response:
    brand_id = request.match_info["brand_id"]
    values = _posted(await request.post())
    try:
        answer = await bridge.call(routes_consents.record_consents, request,
                                   body=_as_body(values, request[SESSION].name))
    except Problem as problem:
        if problem.status not in (409, 422):
            raise
        return page(request, f'{t(request[LANG], "record_consent")}: {brand_id}',
                    form(request, brand_id, values, problem.errors or [
                        {"field": "", "reason": problem.detail}]), status=problem.status)
    recipient = answer["consents"][0]["recipient"]
    raise web.HTTPSeeOther(f"/ui/brands/{seg(brand_id)}/recipients/{seg(recipient)}"
                           "?recorded=1")


async def state_section(request: web.Request, brand_id: str, recipient: str) -> str:
    """The recipient's consent state (the API's answer) as a table, and a link to record."""
    lang = request[LANG]
    state = await bridge.call(routes_consents.consent_state_of, request,
                              query={"recipient": recipient})
    rows = []
    for s in state["states"]:
        known = (f'{s["status"]} · {formats.show_time(s["consent_date"])} · '
                 f'{code("source", s["source"], lang)} · {s["transaction_id"] or ""}'
                 if s["status"] else t(lang, "none_known"))
        pending = ", ".join(f'#{p["id"]} {p["status"]} {code("source", p["source"], lang)} '
                            f'{formats.show_time(p["consent_date"])}' for p in s["pending"])
        rows.append(f'<tr><td>{esc(s["recipient_type"])}</td><td>{esc(s["type"])}</td>'
                    f'<td>{esc(known)}</td><td>{esc(pending)}</td></tr>')
    heads = (tr(lang, "recipient"), tr(lang, "type"), t(lang, "as_known"),
             t(lang, "pending_here"))
    saved = (f'<p class="ok" role="status">{esc(t(lang, "recorded"))}</p>'
             if request.query.get("recorded") else "")
    link = (f'<p class="noprint"><a href="/ui/brands/{esc(seg(brand_id))}/consents/new">'
            f'{esc(t(lang, "record_consent"))}</a></p>')
    return (f'<h2>{esc(t(lang, "consent_state"))}</h2>{saved}'
            f'<p class="hint">{esc(t(lang, "as_of"))}: {esc(formats.show_time(state["as_of"]))}'
            '</p>'
            '<div class="table"><table><thead><tr>'
            + "".join(f'<th scope="col">{esc(h)}</th>' for h in heads)
            + f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>{link}')


def submissions_section(lang: str, submissions: list[dict[str, Any]], local: Any) -> str:
    """Who recorded each non-SMS consent, how, what they typed and the evidence they gave."""
    if not submissions:
        return ""
    parts = [f'<h2>{esc(t(lang, "submissions"))}</h2>']
    for s in submissions:
        evidence = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>"
                           for k, v in s["evidence"].items())
        parts.append(
            f'<section class="box"><h3>#{esc(s["id"])} · {esc(code("via", s["via"], lang))} · '
            f'{esc(s["actor"])}</h3><dl><dt>{esc(t(lang, "consent_given"))}</dt>'
            f'<dd>{esc(local(s["consent_date"]))}</dd><dt>{esc(t(lang, "entered"))}</dt>'
            f'<dd>{esc(local(s["created_at"]))}</dd><dt>{esc(t(lang, "as_written"))}</dt>'
            f'<dd>{esc(s["recipient_input"])}</dd>{evidence}</dl></section>')
    return str(Html("".join(parts)))

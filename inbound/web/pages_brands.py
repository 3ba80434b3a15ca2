"""The brands overview, a brand's settings form and the explain box (sign-in:
pages_sign_in.py)."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from inbound import proxies
from inbound.api import inputs, resources, routes_config, routes_events
from inbound.api.problems import Problem, invalid
from inbound.web import bridge, can
from inbound.web.catalogue import code, say
from inbound.web.html import Html, esc, join, layout, seg, tr
from inbound.web.state import LANG, SESSION
from keywords import fold

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

VOCABULARY_LISTS = resources.VOCABULARY_LISTS
REPLY_KEYS = resources.REPLY_KEYS


def page(request: web.Request, title: str, body: str, *, status: int = 200) -> web.Response:
    session = request.get(SESSION)
    text = layout(request[LANG], title, Html(body), csrf=session.csrf if session else None,
                  owner=f"{session.email} · {session.name}" if session else None,
                  path=request.path_qs, role=session.role if session else "viewer")
    return web.Response(status=status, text=text, content_type="text/html")


def cookie_args(request: web.Request) -> dict[str, Any]:
    """``Secure`` whenever the browser reached us over TLS, directly or through a trusted
    proxy (``http.trusted_proxies``): the cookie then never travels in clear."""
    return {"path": "/ui/", "httponly": True, "samesite": "Strict",
            "secure": proxies.of(request).secure(request)}


# -- brands ----------------------------------------------------------------------------------

def _served(lang: str, number: dict[str, Any]) -> str:
    if not number["shared"]:
        return str(number["brand"])
    return ", ".join(number["brands"]) or tr(lang, "all_brands")


def _numbers_table(lang: str, numbers: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{esc(n['msisdn'])}</td>"
        f"<td>{esc(tr(lang, 'shared' if n['shared'] else 'dedicated'))}"
        f"</td><td>{esc(_served(lang, n))}</td></tr>"
        for n in numbers)
    return (f'<div class="table"><table><caption class="hint">{esc(tr(lang, "numbers"))}'
            f'</caption><thead><tr><th scope="col">{esc(tr(lang, "number"))}</th>'
            f'<th scope="col">{esc(tr(lang, "type"))}</th><th scope="col">'
            f'{esc(tr(lang, "brands"))}</th></tr></thead><tbody>{rows}</tbody></table></div>')


def explain_box(request: web.Request, numbers: list[dict[str, Any]], *,
                number: str = "", text: str = "", result: dict[str, Any] | None = None,
                error: str | None = None) -> str:
    lang = request[LANG]
    options = "".join(f'<option value="{esc(n["msisdn"])}"'
                      f'{" selected" if n["msisdn"] == number else ""}>{esc(n["msisdn"])}'
                      "</option>" for n in numbers)
    out = explain_result(lang, result) if result else ""
    if error:
        out = f'<p class="err" role="alert">{esc(error)}</p>'
    return (f'<section class="box" aria-labelledby="explain-h"><h2 id="explain-h">'
            f'{esc(tr(lang, "explain"))}</h2><p class="hint">{esc(tr(lang, "explain_hint"))}</p>'
            f'<form method="post" action="/ui/explain" data-explain '
            f'data-l-outcome="{esc(tr(lang, "outcome"))}" '
            f'data-l-read="{esc(tr(lang, "normalized"))}" '
            f'data-l-reason="{esc(tr(lang, "reason"))}" data-l-events="{esc(tr(lang, "events"))}">'
            f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'
            f'<label for="explain-number">{esc(tr(lang, "number"))}</label>'
            f'<select id="explain-number" name="number">{options}</select>'
            f'<label for="explain-text">{esc(tr(lang, "text"))}</label>'
            f'<input id="explain-text" name="text" type="text" value="{esc(text)}" '
            f'autocomplete="off">'
            f'<button class="primary" type="submit">{esc(tr(lang, "try"))}</button></form>'
            f'<div id="explain-out" aria-live="polite">{out}</div></section>')


def in_words(lang: str, result: dict[str, Any]) -> dict[str, Any]:
    """The API's explain answer with its outcome and reason in the page's language (the code
    stays in ``outcome``; ``outcome_label`` is the word)."""
    return {**result, "outcome_label": code("outcome", result.get("outcome"), lang),
            "reason": say(result.get("reason"), lang)}


def explain_result(lang: str, result: dict[str, Any]) -> str:
    result = in_words(lang, result)
    events = "".join(f"<li>{esc(e['status'])} · {esc(e['brand'])} · "
                     f"{esc(', '.join(e.get('types', [])))}</li>" for e in result["events"])
    events = f"<ul>{events}</ul>" if events else f"<p>{esc(tr(lang, 'no_events'))}</p>"
    return (f'<dl><dt>{esc(tr(lang, "outcome"))}</dt><dd data-outcome="{esc(result["outcome"])}">'
            f'{esc(result["outcome_label"])}'
            f'</dd><dt>{esc(tr(lang, "normalized"))}</dt><dd>{esc(result.get("normalized"))}</dd>'
            f'<dt>{esc(tr(lang, "reason"))}</dt><dd>{esc(result.get("reason"))}</dd>'
            f'<dt>{esc(tr(lang, "events"))}</dt><dd>{events}</dd></dl>')


@routes.get("/brands")
async def brands_page(request: web.Request) -> web.Response:
    lang = request[LANG]
    brands = (await bridge.call(routes_config.list_brands, request))["items"]
    numbers = (await bridge.call(routes_config.list_numbers, request))["items"]
    items = "".join(
        f'<li><a href="/ui/brands/{esc(seg(b["id"]))}">{esc(b["name"])}</a> '
        f'(<a href="/ui/brands/{esc(seg(b["id"]))}/events">{esc(tr(lang, "events"))}</a>)</li>'
        for b in brands)
    body = (f'<h2>{esc(tr(lang, "brands"))}</h2><ul>{items}</ul>'
            f'<h2>{esc(tr(lang, "numbers"))}</h2>{_numbers_table(lang, numbers)}'
            + explain_box(request, numbers))
    from inbound.web import pages_mirror  # (imports this module's page())

    body += await pages_mirror.overview(request)
    return page(request, tr(lang, "brands"), body)


def _serves(number: dict[str, Any], brand_id: str) -> bool:
    if number["shared"]:
        return not number["brands"] or brand_id in number["brands"]
    return bool(number["brand"] == brand_id)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _form_values(brand: dict[str, Any]) -> dict[str, Any]:
    """A brand view as the form shows it."""
    values: dict[str, Any] = {"name": brand["name"], "aliases": "\n".join(brand["aliases"])}
    for key in VOCABULARY_LISTS:
        values[key] = "\n".join(brand["vocabulary"].get(key, []))
    for key in REPLY_KEYS:
        template = brand["replies"].get(key)
        values[f"reply_{key}"] = template or ""
        values[f"off_{key}"] = template == ""
    notice = brand.get("privacy_notice") or {}
    values["privacy_url"] = notice.get("url", "")
    values["privacy_text"] = notice.get("text", "")
    return values


def _privacy_notice(form: Any) -> dict[str, str] | None:
    """The link page's KVKK notice from the form: the link wins; both empty: the default.
    The text is one paragraph on the link page, so the textarea's line breaks are spaces."""
    url = str(form.get("privacy_url", "")).strip()
    text = " ".join(str(form.get("privacy_text", "")).split())
    return {"url": url} if url else ({"text": text} if text else None)


def _body_from_form(form: Any, brand: dict[str, Any]) -> dict[str, Any]:
    """The API's PATCH body for what the form sent (channel words are kept as they are)."""
    vocabulary: dict[str, Any] = {k: _lines(str(form.get(k, ""))) for k in VOCABULARY_LISTS}
    vocabulary = {k: v for k, v in vocabulary.items() if v}
    if "extra_channels" in brand["vocabulary"]:
        vocabulary["extra_channels"] = brand["vocabulary"]["extra_channels"]
    replies: dict[str, str] = {}
    for key in REPLY_KEYS:
        if form.get(f"off_{key}"):
            replies[key] = ""
        elif str(form.get(f"reply_{key}", "")).strip():
            replies[key] = str(form.get(f"reply_{key}"))
    return {"name": str(form.get("name", "")), "aliases": _lines(str(form.get("aliases", ""))),
            "vocabulary": vocabulary, "replies": replies,
            "privacy_notice": _privacy_notice(form)}


def _field_errors(problem: Problem, values: dict[str, Any], lang: str
                  ) -> tuple[dict[str, list[str]], list[str]]:
    """The API's errors placed next to the form field they concern (a keyword conflict next
    to the field holding the word); the rest go on top."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for error in problem.errors or [{"field": "", "reason": problem.detail}]:
        field = str(error.get("field", ""))
        target = field.split("[")[0].split(".")[-1]
        if field.startswith("replies."):
            target = "reply_" + field.split(".", 1)[1]
        if field.startswith("privacy_notice"):
            target = "privacy_text" if field.endswith(".text") else "privacy_url"
        if field == "rules" and error.get("word"):
            word = str(error["word"])
            target = next((k for k in ("name", "aliases", *VOCABULARY_LISTS)
                           if any(fold(line) == word for line in _lines(str(values.get(k, ""))))),
                          "")
        if target in values:
            by_field.setdefault(target, []).append(say(str(error.get("reason")), lang))
        else:
            general.append(say(str(error.get("reason") or problem.detail), lang))
    return by_field, general


def _brand_form(request: web.Request, brand: dict[str, Any], values: dict[str, Any],
                errors: dict[str, list[str]]) -> str:
    lang = request[LANG]

    def problems(key: str) -> str:
        return "".join(f'<p class="err" id="err-{key}">{esc(tr(lang, "field_error"))}: '
                       f"{esc(m)}</p>" for m in errors.get(key, []))

    def described(key: str, hint: str | None = None, hint_id: str | None = None) -> str:
        ids = ([f"err-{key}"] if key in errors else []) + (
            [hint_id or f"hint-{key}"] if hint or hint_id else [])
        invalid = ' aria-invalid="true"' if key in errors else ""
        return (f' aria-describedby="{" ".join(ids)}"' if ids else "") + invalid

    def area(key: str, label: str) -> str:
        hint = tr(lang, "one_per_line")
        return (f'<label for="f-{key}">{esc(label)} <span class="hint" id="hint-{key}">'
                f'({esc(hint)})</span></label>{problems(key)}'
                f'<textarea id="f-{key}" name="{key}"{described(key, hint)}>'
                f'{esc(values.get(key, ""))}</textarea>')

    vocab = "".join(area(k, tr(lang, k)) for k in VOCABULARY_LISTS)
    replies = ""
    for key in REPLY_KEYS:
        field = f"reply_{key}"
        checked = " checked" if values.get(f"off_{key}") else ""
        label = tr(lang, f"reply.{key}")
        replies += (f'<label for="f-{field}">{esc(label)}</label>{problems(field)}'
                    f'<input id="f-{field}" name="{field}" type="text" '
                    f'value="{esc(values.get(field, ""))}"{described(field)}>'
                    f'<label class="hint"><input type="checkbox" name="off_{key}" value="1"'
                    f'{checked}> {esc(label)}: {esc(tr(lang, "no_reply"))}'
                    "</label>")
    # a role that may not save sees the settings, not a form it cannot send
    return (f'<form method="post" action="/ui/brands/{esc(seg(brand["id"]))}" class="box">'
            f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'
            + can.fields(request, f'/brands/{brand["id"]}',
            f'<dl class="codes"><dt>{esc(tr(lang, "iys_code"))}</dt><dd>{esc(brand["iys_code"])}'
            f'</dd><dt>{esc(tr(lang, "brand_code"))}</dt><dd>{esc(brand["brand_code"])}</dd></dl>'
            f'<label for="f-name">{esc(tr(lang, "name"))}</label>{problems("name")}'
            f'<input id="f-name" name="name" type="text" value="{esc(values.get("name", ""))}"'
            f' required{described("name")}>'
            + area("aliases", tr(lang, "aliases"))
            + f'<fieldset><legend>{esc(tr(lang, "vocabulary"))}</legend>{vocab}</fieldset>'
            f'<fieldset><legend>{esc(tr(lang, "replies"))}</legend><p class="hint">'
            f'{esc(tr(lang, "reply_hint"))}</p>{replies}</fieldset>'
            f'<fieldset><legend>{esc(tr(lang, "privacy.title"))}</legend><p class="hint" '
            f'id="hint-privacy">{esc(tr(lang, "privacy.hint"))}</p>'
            f'<label for="f-privacy_url">{esc(tr(lang, "privacy.url"))}</label>'
            f'{problems("privacy_url")}<input id="f-privacy_url" name="privacy_url" '
            f'type="url" maxlength="500" value="{esc(values.get("privacy_url", ""))}"'
            f'{described("privacy_url", hint_id="hint-privacy")}>'
            f'<label for="f-privacy_text">{esc(tr(lang, "privacy.text"))}</label>'
            f'{problems("privacy_text")}<textarea id="f-privacy_text" name="privacy_text" '
            f'maxlength="2000"{described("privacy_text", hint_id="hint-privacy")}>'
            f'{esc(values.get("privacy_text", ""))}</textarea></fieldset>'
            + can.submit_or_note(request, f'/brands/{brand["id"]}',
                                 f'<div class="sticky-save"><button class="primary" '
                                 f'type="submit">{esc(tr(lang, "save"))}</button></div>'))
            + '</form>')


async def _brand_page(request: web.Request, brand: dict[str, Any], values: dict[str, Any],
                      errors: dict[str, list[str]], general: list[str], *,
                      status: int = 200) -> web.Response:
    lang = request[LANG]
    numbers = [n for n in (await bridge.call(routes_config.list_numbers, request))["items"]
               if _serves(n, brand["id"])]
    notice = ""
    if request.query.get("saved"):
        notice = f'<p class="ok" role="status">{esc(tr(lang, "saved"))}</p>'
    if errors or general:
        notice = (f'<div role="alert"><p class="err">{esc(tr(lang, "not_saved"))}</p>'
                  + join(Html(f'<p class="err">{esc(m)}</p>') for m in general) + "</div>")
    body = (notice + f'<p><a href="/ui/brands/{esc(seg(brand["id"]))}/events">'
            f'{esc(tr(lang, "events"))}</a></p>'
            + f'<h2>{esc(tr(lang, "numbers"))}</h2>{_numbers_table(lang, numbers)}'
            + explain_box(request, numbers)
            + f'<h2>{esc(tr(lang, "brand"))}</h2>{_brand_form(request, brand, values, errors)}')
    return page(request, f'{tr(lang, "brand")}: {brand["name"]}', body, status=status)


@routes.get("/brands/{brand_id}")
async def brand_page(request: web.Request) -> web.Response:
    brand = await bridge.call(routes_config.get_brand, request)
    return await _brand_page(request, brand, _form_values(brand), {}, [])


def _posted_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "csrf"}
    for key in REPLY_KEYS:
        values[f"off_{key}"] = bool(form.get(f"off_{key}"))
    return values


async def kept_form(request: web.Request) -> web.Response:
    """The form as posted, with the session's token, when the posted token was stale."""
    brand = await bridge.call(routes_config.get_brand, request)
    values = _posted_values(await request.post())
    return await _brand_page(request, brand, values, {}, [tr(request[LANG], "form_kept")],
                             status=403)


@routes.post("/brands/{brand_id}")
async def brand_save(request: web.Request) -> web.StreamResponse:
    brand = await bridge.call(routes_config.get_brand, request)
    form = await request.post()
    body = _body_from_form(form, brand)
    try:
        await bridge.call(routes_config.patch_brand, request, body=body)
    except Problem as problem:
        if problem.status not in (409, 422):
            raise
        values = _posted_values(form)
        errors, general = _field_errors(problem, values, request[LANG])
        return await _brand_page(request, brand, values, errors, general, status=problem.status)
    raise web.HTTPSeeOther(f"/ui/brands/{seg(brand['id'])}?saved=1")


# -- explain ---------------------------------------------------------------------------------

@routes.post("/explain")
async def explain(request: web.Request) -> web.StreamResponse:
    """The API's explain for the signed-in owner: JSON for the page's script, a page for a
    plain form submission."""
    if request.content_type == "application/json":
        try:
            raw = inputs.parse_json(await request.read())
            if not isinstance(raw, dict):
                raise invalid("body", "expected a JSON object")
            result = await bridge.call(routes_events.explain_text, request, body=raw)
        except Problem as problem:
            return problem.response()
        return web.json_response(in_words(request[LANG], result))
    form = await request.post()
    body = {"number": str(form.get("number", "")), "text": str(form.get("text", ""))}
    numbers = (await bridge.call(routes_config.list_numbers, request))["items"]
    lang = request[LANG]
    try:
        result = await bridge.call(routes_events.explain_text, request, body=body)
        box = explain_box(request, numbers, number=body["number"], text=body["text"],
                          result=result)
    except Problem as problem:
        box = explain_box(request, numbers, number=body["number"], text=body["text"],
                          error=say(problem.detail, lang))
    return page(request, tr(lang, "explain"), box)


APP_JS = """
(function () {
  var form = document.querySelector('form[data-explain]');
  if (!form || !window.fetch) return;
  var out = document.getElementById('explain-out');
  var timer = null;
  function el(tag, text) { var e = document.createElement(tag); e.textContent = text; return e; }
  function show(r) {
    out.textContent = '';
    var dl = document.createElement('dl');
    var rows = [[form.dataset.lOutcome || 'Outcome', r.outcome_label || r.outcome],
                [form.dataset.lRead || 'Read as', r.normalized || ''],
                [form.dataset.lReason || 'Why', r.reason || r.detail || '']];
    rows.forEach(function (p) { dl.appendChild(el('dt', p[0])); dl.appendChild(el('dd', p[1])); });
    dl.children[1].setAttribute('data-outcome', r.outcome);
    var ul = document.createElement('ul');
    (r.events || []).forEach(function (e) {
      ul.appendChild(el('li', e.status + ' · ' + e.brand + ' · ' + (e.types || []).join(', ')));
    });
    dl.appendChild(el('dt', form.dataset.lEvents || 'Events'));
    var dd = document.createElement('dd'); dd.appendChild(ul); dl.appendChild(dd);
    out.appendChild(dl);
  }
  function ask() {
    var body = JSON.stringify({number: form.number.value, text: form.text.value});
    fetch('/ui/explain', {method: 'POST', credentials: 'same-origin', body: body,
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json',
                'X-CSRF-Token': form.csrf.value}})
      .then(function (r) { return r.json(); })
      .then(function (r) { if (r.outcome) { show(r); } else { out.textContent = r.detail || ''; } })
      .catch(function () {});
  }
  function later() { clearTimeout(timer); timer = setTimeout(ask, 200); }
  form.text.addEventListener('input', later);
  form.number.addEventListener('change', later);
  form.addEventListener('submit', function (ev) { ev.preventDefault(); ask(); });
})();
(function () {
  // the evidence page's Print button: shown and wired only where this script runs (CSP)
  document.querySelectorAll('[data-print]').forEach(function (b) {
    b.hidden = false;
    b.addEventListener('click', function () { window.print(); });
  });
})();
"""


@routes.get("/static/app.js")
async def app_js(_: web.Request) -> web.Response:
    return web.Response(text=APP_JS, content_type="application/javascript",
                        headers={"Cache-Control": "max-age=300"})

"""The İYS mirror on the web page (issue #29): a section of the brands overview (how fresh
each brand's mirror is: the last pull, the last movement İYS pushed, whether push is
registered, the newest reconciled day and the latest report), and a page per brand with its
reconciliation reports (``/ui/brands/{brand_id}/mirror``). An admin agrees a matched day there
(the agreement is the brand's legal statement: the API's own ``run_reconciliation`` runs the
day again and records the agreement only if it still matches, audited with the user) and
switches the brand's automatic agreement.

Words in ``WORDS`` (Turkish first, English second), folded into the message catalogue
(``inbound/web/catalogue.py``) under ``mirror.``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from inbound import roles
from inbound.api import routes_mirror
from inbound.api.problems import Problem
from inbound.api.state import POOL
from inbound.web import bridge, catalogue
from inbound.web.catalogue import say
from inbound.web.html import Html, esc, seg
from inbound.web.html import table as html_table
from inbound.web.pages_brands import page
from inbound.web.state import LANG, SESSION
from iys_push import mirror
from iys_push.timefmt import TR

routes = web.RouteTableDef()

WORDS: dict[str, tuple[str, str]] = {
    "mirror": ("İYS kopyası ve mutabakat", "İYS mirror and reconciliation"),
    "mirror_hint": ("Gönderim öncesi kontrol bu kopyadan yanıtlanır. Çekme İYS'nin son bir "
                    "saatini göstermez; İYS anlık bildirim kaydı varsa değişiklikler anında gelir.",
                    "Pre-send checks answer from this copy. Pulls never show İYS's latest "
                    "hour; with push registration changes arrive at once."),
    "brand": ("Marka", "Brand"),
    "pulled": ("Son çekme", "Last pull"),
    "pushed": ("İYS'den son anlık bildirim", "Last push from İYS"),
    "registered": ("Anlık bildirim kaydı", "Push registered"),
    "reconciled": ("Son mutabık gün", "Newest reconciled day"),
    "last_report": ("Son rapor", "Latest report"),
    "auto_agree": ("Otomatik mutabakat onayı", "Automatic agreement"),
    "yes": ("evet", "yes"), "no": ("hayır", "no"), "never": ("hiç", "never"),
    "ago": ("önce", "ago"),
    "reports": ("Mutabakat raporları", "Reconciliation reports"),
    "no_reports": ("Henüz rapor yok.", "No report yet."),
    "day": ("Gün", "Day"), "outcome": ("Sonuç", "Outcome"), "rows": ("Satır", "Rows"),
    "applied": ("Eksik olup işlenen", "Missed, now applied"),
    "drift": ("Sapma (İYS'de olmayan kabullerimiz)", "Drift (our accepted events İYS lacks)"),
    "hash": ("Özet (SHA-384)", "Hash (SHA-384)"), "agreed": ("Onaylandı", "Agreed"),
    "detail": ("Ayrıntı", "Detail"),
    "o_matched": ("uyumlu", "matched"), "o_mismatch": ("uyumsuz", "mismatch"),
    "o_unavailable": ("dosya alınamadı", "file unavailable"), "o_drift": ("sapma", "drift"),
    "agree_how": ("Mutabakatı İYS'ye kaydetmek markanın beyanıdır: API (POST …/reconciliations "
                  "{\"date\", \"agree\": true}) veya `iys-inbound reconcile --agree` ile.",
                  "Recording the agreement in İYS is the brand's statement: through the API "
                  "(POST …/reconciliations {\"date\", \"agree\": true}) or `iys-inbound "
                  "reconcile --agree`."),
    "agree": ("Mutabakatı onayla", "Agree"),
    "agree_hint": ("Onay, markanın İYS'ye beyanıdır: gün İYS'den yeniden alınır ve yalnızca "
                   "her şey uyumluysa kaydedilir.",
                   "Agreeing is the brand's statement to İYS: the day is fetched again and "
                   "the agreement recorded only if everything still matches."),
    "agreed_day": ("{day} için mutabakat İYS'ye kaydedildi.",
                   "The agreement for {day} is recorded in İYS."),
    "not_agreed": ("{day} için mutabakat kaydedilmedi: {why}",
                   "The agreement for {day} was not recorded: {why}"),
    "auto_on": ("Otomatik onayı aç", "Switch automatic agreement on"),
    "auto_off": ("Otomatik onayı kapat", "Switch automatic agreement off"),
    "auto_hint": ("Açıkken her gece uyumlu çıkan gün kendiliğinden onaylanır.",
                  "When on, each night's matched day is agreed by itself."),
    "setting_saved": ("Ayar kaydedildi.", "Setting saved."),
    "action": ("İşlem", "Action"),
}


word = catalogue.section("mirror", WORDS)


def _age(lang: str, moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return word(lang, "never")
    seconds = int((now - moment).total_seconds())
    amount = (f"{seconds // 3600} sa {seconds % 3600 // 60} dk" if seconds >= 3600
              else f"{seconds // 60} dk {seconds % 60} sn")
    if lang == "en":
        amount = amount.replace("sa", "h").replace("dk", "min").replace("sn", "s")
    local = moment.astimezone(TR).strftime("%Y-%m-%d %H:%M:%S")
    return f"{local} ({amount} {word(lang, 'ago')})"


async def overview(request: web.Request) -> str:
    """The section on the brands overview: one row per brand of the signed-in owner."""
    lang = request[LANG]
    rows = await request.app[POOL].fetch(mirror.SQL.mirror_overview,
                                         request[SESSION].owner_id)
    now = datetime.now(UTC)
    cells = []
    for r in rows:
        report = word(lang, "never")
        if r["last_day"]:
            report = f'{r["last_day"].isoformat()}: {word(lang, "o_" + r["last_outcome"])}'
            if r["last_drift"]:
                report += f' ({r["last_drift"]})'
        day = r["reconciled_day"]
        cells.append((
            Html(f'<a href="/ui/brands/{esc(seg(r["id"]))}/mirror">{esc(r["name"])}</a>'),
            _age(lang, r["pulled_at"], now), _age(lang, r["pushed_at"], now),
            word(lang, "yes" if r["push_registered"] else "no"),
            day.isoformat() if day else word(lang, "never"), report))
    heads = ("brand", "pulled", "pushed", "registered", "reconciled", "last_report")
    return (f'<section class="box" aria-labelledby="mirror-h"><h2 id="mirror-h">'
            f'{esc(word(lang, "mirror"))}</h2><p class="hint">{esc(word(lang, "mirror_hint"))}'
            '</p>' + html_table([word(lang, h) for h in heads], cells, word(lang, "mirror"))
            + "</section>")


def _csrf(request: web.Request) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'


def _agree_button(request: web.Request, brand_id: str, r: dict[str, Any]) -> str:
    """A matched day not agreed yet: the admin's button (others see nothing to press)."""
    if (r["outcome"] != "matched" or r["agreed_at"]
            or not roles.allows(request[SESSION].role, "admin")):
        return ""
    return (f'<form method="post" action="/ui/brands/{esc(seg(brand_id))}/mirror/agree" '
            f'class="inline">{_csrf(request)}<input type="hidden" name="date" '
            f'value="{esc(r["day"])}"><button type="submit" class="secondary">'
            f'{esc(word(request[LANG], "agree"))}</button></form>')


def _report_row(request: web.Request, brand_id: str, r: dict[str, Any]) -> tuple[Any, ...]:
    lang = request[LANG]
    drift = ", ".join(f'#{d["event_id"]} {d["recipient"]} {d["status"]}' for d in r["drift"])
    return (r["day"], word(lang, "o_" + r["outcome"]), r["file_rows"], r["applied"],
            f'{r["drift_rows"]}{f" ({drift})" if drift else ""}',
            word(lang, "yes" if r["hash_ok"] else "no"), r["agreed_at"] or "",
            say(r["detail"], lang), Html(_agree_button(request, brand_id, r)))


def _auto_agree_form(request: web.Request, brand_id: str, on: bool) -> str:
    if not roles.allows(request[SESSION].role, "admin"):
        return ""
    lang = request[LANG]
    return (f'<form method="post" action="/ui/brands/{esc(seg(brand_id))}/mirror/auto-agree">'
            f'{_csrf(request)}<input type="hidden" name="on" value="{"" if on else "1"}">'
            f'<button type="submit" class="secondary">'
            f'{esc(word(lang, "auto_off" if on else "auto_on"))}</button> '
            f'<span class="hint">{esc(word(lang, "auto_hint"))}</span></form>')


def _notice(request: web.Request) -> str:
    lang = request[LANG]
    if day := request.query.get("agreed"):
        return (f'<p class="ok" role="status">'
                f'{esc(word(lang, "agreed_day").format(day=day))}</p>')
    if request.query.get("saved"):
        return f'<p class="ok" role="status">{esc(word(lang, "setting_saved"))}</p>'
    return ""


@routes.get("/brands/{brand_id}/mirror")
async def mirror_page(request: web.Request, *, error: str | None = None,
                      status: int = 200) -> web.Response:
    lang = request[LANG]
    answer = await bridge.call(routes_mirror.list_reconciliations, request)  # 404: not yours
    m = answer["mirror"]
    never = word(lang, "never")
    facts = "<dl>" + "".join(
        f"<dt>{esc(word(lang, key))}</dt><dd>{esc(value)}</dd>" for key, value in (
            ("pulled", m["pulled_at"] or never), ("pushed", m["pushed_at"] or never),
            ("registered", word(lang, "yes" if m["push_registered"] else "no")),
            ("reconciled", m["reconciled_day"] or never),
            ("auto_agree", word(lang, "yes" if answer["auto_agree"] else "no")))) + "</dl>"
    brand_id = answer["brand_id"]
    if answer["items"]:
        heads = ("day", "outcome", "rows", "applied", "drift", "hash", "agreed", "detail",
                 "action")
        table = html_table([word(lang, h) for h in heads],
                           [_report_row(request, brand_id, r) for r in answer["items"]],
                           word(lang, "reports"))
    else:
        table = f'<p>{esc(word(lang, "no_reports"))}</p>'
    admin = roles.allows(request[SESSION].role, "admin")
    body = (f'{_notice(request)}{error or ""}{facts}'
            f'{_auto_agree_form(request, brand_id, answer["auto_agree"])}'
            f'<h2>{esc(word(lang, "reports"))}</h2>{table}'
            f'<p class="hint">{esc(word(lang, "agree_hint" if admin else "agree_how"))}</p>')
    return page(request, f'{word(lang, "mirror")}: {brand_id}', body, status=status)


@routes.post("/brands/{brand_id}/mirror/agree")
async def agree(request: web.Request) -> web.Response:
    """The API's own run with ``agree: true`` (admin: roles.py; audited there)."""
    form = await request.post()
    day = str(form.get("date", ""))
    try:
        report = (await bridge.call(routes_mirror.run_reconciliation, request,
                                    body={"date": day, "agree": True}))["items"][0]
    except Problem as problem:
        if problem.status not in (409, 422):
            raise
        why = "; ".join(say(f'{e["reason"]}', request[LANG]) for e in problem.errors or []) \
            or say(problem.detail, request[LANG])
        return await _refused(request, day, why, problem.status)
    if not report["agreed_at"]:
        return await _refused(request, day, say(report["detail"] or word(
            request[LANG], "o_" + report["outcome"]), request[LANG]), 409)
    raise web.HTTPSeeOther(f"/ui/brands/{seg(request.match_info['brand_id'])}/mirror"
                           f"?agreed={seg(day)}")


async def _refused(request: web.Request, day: str, why: str, status: int) -> web.Response:
    text = word(request[LANG], "not_agreed").format(day=day, why=why)
    return await mirror_page(request, error=f'<p class="err" role="alert">{esc(text)}</p>',
                             status=status)


@routes.post("/brands/{brand_id}/mirror/auto-agree")
async def auto_agree(request: web.Request) -> web.Response:
    form = await request.post()
    await bridge.call(routes_mirror.run_reconciliation, request,
                      body={"auto_agree": bool(form.get("on"))})
    raise web.HTTPSeeOther(f"/ui/brands/{seg(request.match_info['brand_id'])}/mirror?saved=1")

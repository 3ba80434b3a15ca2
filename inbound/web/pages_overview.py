"""A brand's overview, the page one lands on after signing in: are we compliant today, what
needs me, what changed.

Totals of ONAY and RET (today, 7 and 30 days, by channel and source), pending RETs with the
time left (nearest first, red under 24 h), failed events, the review queue with its
one-click buttons, İYS health, messages nobody could act on that concern this brand, and a
chart of consents per day. Every statement is bounded (``sql/overview.sql``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from inbound import sqlfile
from inbound.api import routes_config
from inbound.api.scope import visible_brand
from inbound.api.state import POOL
from inbound.web import bridge, can, formats, pages_events, pages_reviews, pages_status, queries
from inbound.web.catalogue import add, code, say
from inbound.web.html import Html, esc, seg, table, tr
from inbound.web.pages_brands import page
from inbound.web.state import LANG
from keywords import fold
from keywords.rules import msisdn_variants

SQL = sqlfile.load("inbound.web", "sql/overview.sql")
routes = web.RouteTableDef()

LIST_LIMIT = 20            # rows per list on the overview; the events page has the rest
SHARED_SCAN = 2000         # newest unmatched messages on shared numbers looked at (30 days)
URGENT = timedelta(hours=24)

add({
    "ov.totals": ("İzin ve retler", "Opt-ins and opt-outs"),
    "ov.today": ("Bugün", "Today"),
    "ov.week": ("7 gün", "7 days"),
    "ov.month": ("30 gün", "30 days"),
    "ov.channel": ("Kanal", "Channel"),
    "ov.no_totals": ("Son 30 günde izin ya da ret yok.", "No opt-in or opt-out in 30 days."),
    "ov.pending": ("Gönderilmeyi bekleyen retler", "Opt-outs waiting to be sent"),
    "ov.pending_hint": ("En yakın son gün önce; 24 saatten az kalanlar kırmızı.",
                        "Nearest deadline first; less than 24 hours left in red."),
    "ov.no_pending": ("Bekleyen ret yok.", "No opt-out is waiting."),
    "ov.failed": ("Bir kişinin bakması gereken olaylar", "Events a person must look at"),
    "ov.no_failed": ("Başarısız olay yok.", "No failed event."),
    "ov.health": ("İYS durumu (30 gün)", "İYS health (30 days)"),
    "ov.last_ok": ("Son başarılı gönderim", "Last successful push"),
    "ov.ratio": ("Başarı oranı", "Success ratio"),
    "ov.ratio_of": ("{ok} kabul / {all} sonuçlanan", "{ok} accepted of {all} settled"),
    "ov.never": ("henüz yok", "none yet"),
    "ov.unmatched": ("Anlaşılamayan mesajlar", "Messages nobody could act on"),
    "ov.unmatched_hint": (
        "Markaya özel numaralarınıza gelen ve ortak numarada markanızı anan, ama izin ya da "
        "ret olarak okunamayan mesajlar (30 gün): insanların hangi kelimeleri denediğini "
        "görüp marka ayarlarına ekleyebilirsiniz.",
        "Messages to your own numbers, and those on a shared number that name your brand, "
        "that could not be read as an opt-in or opt-out (30 days): see which words people "
        "try and add them in the brand's settings."),
    "ov.no_unmatched": ("Anlaşılamayan mesaj yok.", "No such message."),
    "ov.chart": ("Günlük izin ve retler (30 gün)", "Opt-ins and opt-outs per day (30 days)"),
    "ov.choose": ("Bir marka seçin.", "Choose a brand."),
    "ov.settings": ("Marka ayarları", "Brand settings"),
})


def _link(href: str, text: str) -> Html:
    return Html(f'<a href="{esc(href)}">{esc(text)}</a>')


def _section(key: str, title: str, inner: str) -> str:
    return (f'<section class="box" aria-labelledby="{key}-h"><h2 id="{key}-h">{esc(title)}'
            f"</h2>{inner}</section>")


def totals_section(lang: str, rows: list[Any]) -> str:
    if not rows:
        return _section("totals", tr(lang, "ov.totals"), f'<p>{esc(tr(lang, "ov.no_totals"))}</p>')
    sums: dict[str, list[int]] = {}
    body: list[tuple[Any, ...]] = []
    for r in rows:
        s = sums.setdefault(r["status"], [0, 0, 0])
        for i, k in enumerate(("today", "week", "month")):
            s[i] += r[k]
        body.append((r["status"], r["type"], code("source", r["source"], lang), r["today"],
                     r["week"], r["month"]))
    summary = " · ".join(f'{status}: {tr(lang, "ov.today")} {v[0]}, {tr(lang, "ov.week")} '
                         f'{v[1]}, {tr(lang, "ov.month")} {v[2]}' for status, v in sums.items())
    heads = (tr(lang, "status"), tr(lang, "ov.channel"), tr(lang, "source"),
             tr(lang, "ov.today"), tr(lang, "ov.week"), tr(lang, "ov.month"))
    return _section("totals", tr(lang, "ov.totals"),
                    f'<p class="summary">{esc(summary)}</p>'
                    + table(heads, body, tr(lang, "ov.totals")))


def pending_section(lang: str, base: str, rows: list[Any], now: datetime) -> str:
    if not rows:
        return _section("pending", tr(lang, "ov.pending"),
                        f'<p>{esc(tr(lang, "ov.no_pending"))}</p>')
    body, marks = [], []
    for r in rows:
        marks.append("urgent" if r["deadline_at"] - now < URGENT else "")
        left = pages_events.time_left(lang, r["deadline_at"].isoformat(), now)
        body.append((r["id"], _link(f'{base}/recipients/{seg(r["recipient"])}', r["recipient"]),
                     r["type"], formats.show_time(r["received_at"]),
                     Html(f'{esc(formats.show_time(r["deadline_at"]))} <strong>({esc(left)})'
                          "</strong>")))
    heads = ("ID", tr(lang, "recipient"), tr(lang, "type"), tr(lang, "received"),
             tr(lang, "deadline"))
    return _section("pending", tr(lang, "ov.pending"),
                    f'<p class="hint">{esc(tr(lang, "ov.pending_hint"))}</p>'
                    + table(heads, body, tr(lang, "ov.pending"), classes=marks))


def failed_section(lang: str, base: str, rows: list[Any]) -> str:
    if not rows:
        return _section("failed", tr(lang, "ov.failed"), f'<p>{esc(tr(lang, "ov.no_failed"))}</p>')
    body: list[tuple[Any, ...]] = []
    for r in rows:
        error = " ".join(str(x) for x in (r["last_error_code"], say(r["last_error"], lang)) if x)
        body.append((r["id"], _link(f'{base}/recipients/{seg(r["recipient"])}', r["recipient"]),
                     r["status"], r["type"], formats.show_time(r["updated_at"]), error))
    heads = ("ID", tr(lang, "recipient"), tr(lang, "status"), tr(lang, "type"),
             tr(lang, "updated"), tr(lang, "last_error"))
    return _section("failed", tr(lang, "ov.failed"),
                    f'<p class="hint">{esc(tr(lang, "help.failed"))}</p>'
                    + table(heads, body, tr(lang, "ov.failed")))


def health_section(lang: str, row: Any) -> str:
    settled = row["accepted"] + row["failed"]
    ratio = (f'{100 * row["accepted"] / settled:.1f} % · '
             + tr(lang, "ov.ratio_of").format(ok=row["accepted"], all=settled)
             if settled else tr(lang, "ov.never"))
    last = formats.show_time(row["last_accepted"]) if row["last_accepted"] else tr(lang,
                                                                                   "ov.never")
    return _section("health", tr(lang, "ov.health"),
                    f'<dl><dt>{esc(tr(lang, "ov.last_ok"))}</dt><dd>{esc(last)}</dd>'
                    f'<dt>{esc(tr(lang, "ov.ratio"))}</dt><dd>{esc(ratio)}</dd></dl>')


def names_brand(normalized: str, phrases: list[str]) -> bool:
    """Whether a folded message names one of the brand's folded phrases as whole words."""
    text = f" {normalized} "
    return any(p and f" {p} " in text for p in phrases)


def unmatched_section(lang: str, rows: list[Any]) -> str:
    if not rows:
        return _section("unmatched", tr(lang, "ov.unmatched"),
                        f'<p>{esc(tr(lang, "ov.no_unmatched"))}</p>')
    body = [(formats.show_time(r["received_at"]), r["destination_addr"],
             Html(f'<span lang="tr">{esc(r["text"])}</span>'),
             code("outcome", r["outcome"], lang), say(r["reason"], lang)) for r in rows]
    heads = (tr(lang, "received"), tr(lang, "message_to"), tr(lang, "text"),
             tr(lang, "outcome"), tr(lang, "reason"))
    return _section("unmatched", tr(lang, "ov.unmatched"),
                    f'<p class="hint">{esc(tr(lang, "ov.unmatched_hint"))}</p>'
                    + table(heads, body, tr(lang, "ov.unmatched")))


async def unmatched(request: web.Request, brand: dict[str, Any], since: datetime) -> list[Any]:
    """Dedicated numbers: every message without a consent; shared ones: only those that
    name this brand (never another brand's, never a brandless one)."""
    numbers = (await bridge.call(routes_config.list_numbers, request))["items"]
    pool = request.app[POOL]
    own = sorted({v for n in numbers if not n["shared"] and n["brand"] == brand["id"]
                  for v in msisdn_variants(n["msisdn"])})
    shared = sorted({v for n in numbers if n["shared"]
                     and (not n["brands"] or brand["id"] in n["brands"])
                     for v in msisdn_variants(n["msisdn"])})
    rows = list(await pool.fetch(SQL.unmatched_dedicated, own, since, LIST_LIMIT)) if own else []
    if shared:
        phrases = [fold(p) for p in (brand["name"], *brand["aliases"])]
        scanned = await pool.fetch(SQL.unmatched_shared, shared, since, SHARED_SCAN)
        rows += [r for r in scanned if names_brand(r["normalized"] or "", phrases)]
    rows.sort(key=lambda r: r["received_at"], reverse=True)
    return rows[:LIST_LIMIT]


@routes.get("/brands/{brand_id}/overview")
async def overview_page(request: web.Request) -> web.Response:
    lang = request[LANG]
    pool, brand_id, _ = await visible_brand(request)
    brand = await bridge.call(routes_config.get_brand, request)
    base = f"/ui/brands/{seg(brand_id)}"
    now = datetime.now(UTC)
    today = datetime.combine(now.astimezone(formats.TR_TIME).date(), datetime.min.time(),
                             formats.TR_TIME)
    month = today - timedelta(days=29)
    totals = await pool.fetch(SQL.totals, brand_id, today, today - timedelta(days=6), month)
    health = await pool.fetchrow(SQL.health, brand_id, month)
    pending = await pool.fetch(SQL.pending_rets, brand_id, LIST_LIMIT)
    failed = await pool.fetch(SQL.failed, brand_id, LIST_LIMIT)
    per_day = await pool.fetch(queries.SQL.events_per_day, brand_id, month,
                               today + timedelta(days=1))
    saved = (f'<p class="ok" role="status">{esc(tr(lang, "reviewed"))}</p>'
             if request.query.get("reviewed") else "")
    links = (f'<p class="noprint"><a href="{esc(base)}/events">{esc(tr(lang, "events"))}</a> · '
             f'<a href="{esc(base)}">{esc(tr(lang, "ov.settings"))}</a>'
             + (f' · <a href="{esc(base)}/consents/new">{esc(tr(lang, "record_consent"))}</a>'
                if can.may(request, f"/brands/{brand_id}/consents") else "") + "</p>")
    body = (links + saved + '<div class="grid">'
            + totals_section(lang, totals) + health_section(lang, health) + "</div>"
            + await pages_status.box(request, brand_id)
            + pending_section(lang, base, pending, now)
            + await pages_reviews.section(request, brand_id, formats.show_time,
                                          pages_events.time_left, back="overview")
            + failed_section(lang, base, failed)
            + unmatched_section(lang, await unmatched(request, brand, month))
            + pages_events.chart(lang, per_day, month.date(), today.date(),
                                 title=tr(lang, "ov.chart")))
    return page(request, f'{tr(lang, "overview")}: {brand["name"]}', Html(body))


@routes.get("/overview")
async def landing(request: web.Request) -> web.StreamResponse:
    """After sign-in: the overview of the owner's brand, or a choice when it has several."""
    lang = request[LANG]
    brands = (await bridge.call(routes_config.list_brands, request))["items"]
    if len(brands) == 1:
        raise web.HTTPSeeOther(f"/ui/brands/{seg(brands[0]['id'])}/overview")
    items = "".join(f'<li><a href="/ui/brands/{esc(seg(b["id"]))}/overview">{esc(b["name"])}'
                    "</a></li>" for b in brands)
    return page(request, tr(lang, "overview"),
                f'<p>{esc(tr(lang, "ov.choose"))}</p><ul>{items}</ul>')

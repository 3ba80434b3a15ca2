"""What the features that landed after the morning page add to it (issue #33): the menu's
entries for bulk upload and the mirror (``/ui/imports``, ``/ui/mirror``: the brand's page, or
a choice when the owner has several) and the overview's compact box: uploads in progress and
how fresh the İYS mirror is (as of when the pre-send check answers, the last pull, the newest
reconciliation and its drift), each linking to its page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from inbound import presend
from inbound.api import routes_check, routes_config
from inbound.api.state import POOL
from inbound.imports import results
from inbound.web import bridge, catalogue, formats
from inbound.web.html import Html, esc, seg
from inbound.web.pages_brands import page
from inbound.web.state import LANG
from iys_push import mirror

routes = web.RouteTableDef()
IN_PROGRESS = ("storing", "pushing")
RECENT_IMPORTS = 20      # the newest uploads looked at for those still running

word = catalogue.section("status", {
    "title": ("Toplu yükleme ve İYS kopyası", "Bulk uploads and the İYS mirror"),
    "running": ("Süren yüklemeler", "Uploads in progress"),
    "no_running": ("Süren yükleme yok.", "No upload in progress."),
    "as_of": ("Kontrolün güncel olduğu an", "The check is current as of"),
    "stale": ("eski: önce İYS'den çekilmeli", "stale: İYS must be pulled first"),
    "fresh": ("güncel", "fresh"),
    "pulled": ("Son çekme", "Last pull"),
    "report": ("Son mutabakat", "Latest reconciliation"),
    "drift": ("sapma: {n} kayıt", "drift: {n} records"),
    "never": ("hiç", "never"),
    "all_imports": ("Yüklemeler", "Uploads"),
    "mirror": ("Mutabakat", "Reconciliation"),
    "choose": ("Bir marka seçin.", "Choose a brand."),
})
catalogue.add({"nav.imports": ("Toplu yükleme", "Bulk upload"),
               "nav.mirror": ("Mutabakat", "Reconciliation")})


def _when(lang: str, moment: datetime | None) -> str:
    return formats.show_time(moment) if moment else word(lang, "never")


async def box(request: web.Request, brand_id: str) -> str:
    """The overview's box for one brand (already checked to be the caller's)."""
    lang = request[LANG]
    pool = request.app[POOL]
    base = f"/ui/brands/{seg(brand_id)}"
    running = [r for r in await pool.fetch(results.SQL.list_imports, brand_id, RECENT_IMPORTS)
               if r["state"] in IN_PROGRESS]
    items = "".join(
        f'<li><a href="{esc(base)}/imports/{esc(r["id"])}">#{esc(r["id"])} '
        f'{esc(r["filename"] or "")}</a>: {esc(catalogue.t("imports." + r["state"], lang))}'
        f' ({esc(r["rows_valid"])}/{esc(r["rows_read"])})</li>' for r in running)
    imports = f"<ul>{items}</ul>" if items else f'<p>{esc(word(lang, "no_running"))}</p>'
    status = await pool.fetchrow(mirror.SQL.brand_mirror_status, brand_id)
    fresh = presend.freshness({**dict(status), "now": datetime.now(UTC)},
                              routes_check.settings_of(request))
    brand = await pool.fetchrow(mirror.SQL.brand_by_id, brand_id)
    reports = await pool.fetch(mirror.SQL.reports, brand["brand_code"], None)
    latest = word(lang, "never")
    if reports:
        r: Any = reports[0]
        latest = f'{r["day"].isoformat()}: {catalogue.t("mirror.o_" + r["outcome"], lang)}'
        if r["drift_rows"]:
            latest += f' ({word(lang, "drift").format(n=r["drift_rows"])})'
    as_of = (f'{_when(lang, fresh.as_of)} ({word(lang, "fresh" if fresh.fresh else "stale")})'
             if fresh.as_of else word(lang, "never"))
    facts = "".join(f"<dt>{esc(word(lang, k))}</dt><dd>{esc(v)}</dd>" for k, v in (
        ("as_of", as_of), ("pulled", _when(lang, status["pulled_at"])), ("report", latest)))
    return (f'<section class="box" aria-labelledby="status-h"><h2 id="status-h">'
            f'{esc(word(lang, "title"))}</h2><h3>{esc(word(lang, "running"))}</h3>{imports}'
            f'<dl>{facts}</dl><p class="noprint"><a href="{esc(base)}/imports">'
            f'{esc(word(lang, "all_imports"))}</a> · <a href="{esc(base)}/mirror">'
            f'{esc(word(lang, "mirror"))}</a></p></section>')


async def _landing(request: web.Request, section: str, title_key: str) -> web.StreamResponse:
    brands = (await bridge.call(routes_config.list_brands, request))["items"]
    if len(brands) == 1:
        raise web.HTTPSeeOther(f"/ui/brands/{seg(brands[0]['id'])}/{section}")
    lang = request[LANG]
    items = "".join(f'<li><a href="/ui/brands/{esc(seg(b["id"]))}/{section}">'
                    f'{esc(b["name"])}</a></li>' for b in brands)
    return page(request, catalogue.t(title_key, lang),
                Html(f'<p>{esc(word(lang, "choose"))}</p><ul>{items}</ul>'))


@routes.get("/imports")
async def imports_landing(request: web.Request) -> web.StreamResponse:
    return await _landing(request, "imports", "nav.imports")


@routes.get("/mirror")
async def mirror_landing(request: web.Request) -> web.StreamResponse:
    return await _landing(request, "mirror", "nav.mirror")

"""Bulk upload on the web page (issue #31): upload a consent file, follow it, read its rows.

The upload is a plain multipart form (no script: the page's CSP allows none). Its first field
is the CSRF token, which the web middleware reads from the stream; the file part is then
written to a spool file chunk by chunk, never held whole, and handed to the API's own
``start_import``: the same header check, the same storing. The import's page shows the
API's counts and refreshes itself (an HTTP ``Refresh`` header) while it is being stored or
pushed: that is its progress bar.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from inbound.api import params, routes_imports
from inbound.api.problems import Problem
from inbound.api.scope import visible_brand
from inbound.imports import read, results
from inbound.web import can, catalogue
from inbound.web.html import Html, esc, seg
from inbound.web.html import table as html_table
from inbound.web.pages_brands import page
from inbound.web.state import LANG, MULTIPART, SESSION

routes = web.RouteTableDef()
REFRESH_SECONDS = 3
T: dict[str, tuple[str, str]] = {
    "imports": ("Toplu yükleme", "Bulk upload"),
    "upload_hint": ("CSV (UTF-8; ayraç ; veya ,) ya da XLSX. Sütunlar: alıcı, tür, durum, "
                    "kaynak, alıcı tipi, izin tarihi (03.12.2026 14:05, Türkiye saati). "
                    "Yalnızca son üç iş günü içinde alınan izinler ve TACIR kayıtları: İYS "
                    "daha eskisini kabul etmez.",
                    "CSV (UTF-8; separator ; or ,) or XLSX. Columns: recipient, type, status, "
                    "source, recipient_type, consent_date (03.12.2026 14:05, Turkey time). "
                    "Only consents taken within the last three business days and TACIR "
                    "records: İYS takes nothing older."),
    "file": ("Dosya", "File"),
    "upload": ("Yükle", "Upload"),
    "import": ("Yükleme", "Import"),
    "state": ("Durum", "State"),
    "progress": ("İlerleme", "Progress"),
    "rows_csv": ("Satır sonuçları (CSV)", "Row results (CSV)"),
    "cancel": ("İptal et (gönderilmemiş satırlar gönderilmez)",
               "Cancel (rows not sent yet are not sent)"),
    "none": ("Henüz yükleme yok.", "No imports yet."),
    "no_file": ("Bir dosya seçin.", "Choose a file."),
    "storing": ("denetleniyor ve kaydediliyor", "being checked and stored"),
    "pushing": ("İYS'ye gönderiliyor", "being sent to İYS"),
    "finished": ("bitti", "finished"),
    "cancelled": ("iptal edildi", "cancelled"),
    "failed": ("kaydedilemedi", "not stored"),
    "read": ("okunan", "read"), "valid": ("geçerli", "valid"),
    "refused": ("reddedilen", "refused"), "duplicate": ("dosyada tekrar", "duplicate in file"),
    "unchanged": ("değişiklik yok", "unchanged"), "pushed": ("gönderilen", "pushed"),
    "accepted": ("İYS kabul etti", "accepted by İYS"), "failed_rows": ("başarısız", "failed"),
    "waiting": ("sırada", "waiting"), "cancelled_rows": ("iptal", "cancelled"),
}
COUNT_KEYS = (("read", "read"), ("valid", "valid"), ("refused", "refused"),
              ("duplicate", "duplicate"), ("unchanged", "unchanged"), ("pushed", "pushed"),
              ("waiting", "waiting"), ("accepted", "accepted"), ("failed", "failed_rows"),
              ("cancelled", "cancelled_rows"))


t = catalogue.section("imports", T)  # folded into the one catalogue


def _base(brand_id: str) -> str:
    return f"/ui/brands/{seg(brand_id)}/imports"


def upload_form(request: web.Request, brand_id: str, error: str | None = None) -> str:
    lang = request[LANG]
    if not can.may(request, _base(brand_id).removeprefix("/ui")):
        return ""
    err = f'<p class="err" id="e-file" role="alert">{esc(error)}</p>' if error else ""
    invalid = ' aria-invalid="true" aria-describedby="e-file"' if error else ""
    return (f'<form method="post" action="{esc(_base(brand_id))}" class="box" '
            f'enctype="multipart/form-data">'
            f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'
            f'<p class="hint">{esc(t(lang, "upload_hint"))}</p>'
            f'<div><label for="i-file">{esc(t(lang, "file"))}</label>'
            f'<input id="i-file" name="file" type="file" required accept=".csv,.xlsx,'
            f'text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"'
            f'{invalid}>'
            f'{err}</div><button class="primary" type="submit">{esc(t(lang, "upload"))}'
            f'</button></form>')


@routes.get("/brands/{brand_id}/imports")
async def imports_page(request: web.Request) -> web.Response:
    pool, brand_id, _ = await visible_brand(request)
    lang = request[LANG]
    rows = []
    for row in await pool.fetch(results.SQL.list_imports, brand_id, 50):
        link = f'{_base(brand_id)}/{row["id"]}'
        rows.append((Html(f'<a href="{esc(link)}">#{esc(row["id"])}</a>'),
                     row["filename"] or "", t(lang, row["state"]), row["rows_read"],
                     row["rows_valid"], row["rows_refused"]))
    heads = (t(lang, "import"), t(lang, "file"), t(lang, "state"), t(lang, "read"),
             t(lang, "valid"), t(lang, "refused"))
    table = (html_table(heads, rows, t(lang, "imports")) if rows
             else f'<p class="hint">{esc(t(lang, "none"))}</p>')
    return page(request, f'{t(lang, "imports")}: {brand_id}',
                upload_form(request, brand_id) + table)


async def _spool_part(part: BodyPartReader) -> Path:
    handle, name = tempfile.mkstemp(prefix="iys-import-", suffix=".upload")
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := await part.read_chunk(256 * 1024):
                size += len(chunk)
                if size > routes_imports.FILE_LIMIT:
                    raise Problem(413, "the file is too large")
                out.write(chunk)
    except BaseException:
        routes_imports.discard(Path(name))
        raise
    return Path(name)


@routes.post("/brands/{brand_id}/imports")
async def upload(request: web.Request) -> web.Response:
    pool, brand_id, caller = await visible_brand(request)
    lang = request[LANG]
    title = f'{t(lang, "imports")}: {brand_id}'
    reader = request.get(MULTIPART)
    part = await reader.next() if reader is not None else None
    if not isinstance(part, BodyPartReader) or part.name != "file" or not part.filename:
        return page(request, title, upload_form(request, brand_id, t(lang, "no_file")),
                    status=422)
    path = await _spool_part(part)
    try:
        import_id = await routes_imports.start_import(
            pool, brand_id, routes_imports.uploader_of(caller, "web"), path,
            part.filename[:routes_imports.FILENAME_MAX])
    except read.FileRefused as exc:
        return page(request, title, upload_form(request, brand_id, str(exc)), status=422)
    raise web.HTTPSeeOther(f"{_base(brand_id)}/{import_id}")


async def _summary(request: web.Request) -> tuple[str, int, dict[str, Any]]:
    pool, brand_id, _ = await visible_brand(request)
    import_id = params.path_id(request, "import_id")
    found = await results.summary(pool, import_id, brand_id)
    if found is None:
        raise Problem(404, "import not found")
    return brand_id, import_id, found


@routes.get("/brands/{brand_id}/imports/{import_id}")
async def import_page(request: web.Request) -> web.Response:
    brand_id, import_id, s = await _summary(request)
    lang = request[LANG]
    counts = s["counts"]
    items = "".join(f"<dt>{esc(t(lang, label))}</dt><dd>{esc(counts[key])}</dd>"
                    for key, label in COUNT_KEYS)
    reasons = "".join(f"<li>{esc(code)}: {esc(n)}</li>"
                      for code, n in sorted(counts["refused_by_reason"].items()))
    percent = round(100 * s["progress"])
    link = f'{_base(brand_id)}/{import_id}'
    body = (f'<p>{esc(t(lang, "state"))}: <strong>{esc(t(lang, s["state"]))}</strong>'
            f'{" — " + esc(s["error"]) if s["error"] else ""}</p>'
            f'<p><label for="i-progress">{esc(t(lang, "progress"))}</label> '
            f'<progress id="i-progress" max="100" value="{percent}">{percent} %</progress> '
            f'{percent} %</p><dl class="box">{items}</dl>'
            + (f"<ul>{reasons}</ul>" if reasons else "")
            + f'<p><a href="{esc(link)}/rows.csv">{esc(t(lang, "rows_csv"))}</a></p>')
    if s["state"] == "pushing" and can.may(request, f"{link.removeprefix('/ui')}/cancel"):
        body += (f'<form method="post" action="{esc(link)}/cancel">'
                 f'<input type="hidden" name="csrf" value="{esc(request[SESSION].csrf)}">'
                 f'<button type="submit">{esc(t(lang, "cancel"))}</button></form>')
    response = page(request, f'{t(lang, "import")} #{import_id}: {brand_id}', body)
    if s["state"] in ("storing", "pushing"):
        response.headers["Refresh"] = str(REFRESH_SECONDS)   # the progress, without script
    return response


@routes.get("/brands/{brand_id}/imports/{import_id}/rows.csv")
async def rows_csv(request: web.Request) -> web.StreamResponse:
    return await routes_imports.rows_csv(request)


@routes.post("/brands/{brand_id}/imports/{import_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    brand_id, import_id, _ = await _summary(request)
    pool, _, _ = await visible_brand(request)
    await results.cancel(pool, import_id, brand_id)
    raise web.HTTPSeeOther(f"{_base(brand_id)}/{import_id}")

"""Bulk upload of consent files (issue #31) over the API.

``POST /brands/{brand_id}/imports`` takes the file (CSV or XLSX) as the body, streamed to a
spool file on disk (never held whole in memory), checks its header at once (422 when a
required column is missing or it is not UTF-8), and answers 202 with the import's id while
the rows are checked and stored in the background. ``GET …/imports/{id}`` gives the counts
and progress, ``GET …/imports/{id}/rows.csv`` the file back with each row's result,
``POST …/imports/{id}/cancel`` stops the rows not sent yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from inbound.api import params
from inbound.api.admin import AUDIT_VIA
from inbound.api.auth import Caller
from inbound.api.problems import Problem, invalid
from inbound.api.scope import visible_brand

# the module, not its names: inbound.imports.check imports the API package (through
# inbound.consents), which imports this module while inbound.imports.store is half loaded
from inbound.imports import read, results
from inbound.imports import store as import_store

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

FILE_LIMIT = 512 * 1024 * 1024      # bytes of one upload (a million rows is ~70 MB)
FILENAME_MAX = 200
_TASKS: set[asyncio.Task[Any]] = set()   # storing in the background; kept referenced


def uploader_of(caller: Caller, via: str) -> import_store.Uploader:
    if caller.token_id:
        return import_store.Uploader(via, f"token:{caller.token_id}")
    return import_store.Uploader(via, "admin" if caller.admin else f"owner:{caller.owner_id}")


def discard(path: Path) -> None:
    """Remove a spool file (a few milliseconds of disk work, not worth a thread)."""
    path.unlink(missing_ok=True)


async def spool(request: web.Request) -> Path:
    """The body, written to a temporary file chunk by chunk (413 beyond FILE_LIMIT)."""
    if request.content_length is not None and request.content_length > FILE_LIMIT:
        raise Problem(413, f"a file may be at most {FILE_LIMIT // (1024 * 1024)} MiB")
    handle, name = tempfile.mkstemp(prefix="iys-import-", suffix=".upload")
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in request.content.iter_chunked(256 * 1024):
                size += len(chunk)
                if size > FILE_LIMIT:
                    raise Problem(413, f"a file may be at most "
                                  f"{FILE_LIMIT // (1024 * 1024)} MiB")
                out.write(chunk)
    except BaseException:
        discard(Path(name))
        raise
    if size == 0:
        discard(Path(name))
        raise invalid("body", "the file is empty: send a CSV or XLSX file with a header row")
    return Path(name)


def header_check(path: Path) -> str:
    """The file's kind once its header has been read (``read.FileRefused`` if it cannot)."""
    with path.open("rb") as stream:
        kind = read.kind_of(stream.read(4))
        stream.seek(0)
        next(read.rows(stream), None)
    return kind


async def start_import(pool: asyncpg.Pool, brand_id: str, who: import_store.Uploader,
                       path: Path, filename: str | None, *, state_only: bool = False) -> int:
    """Check the header, create the import and store its rows in the background (the spool
    file is removed afterwards); ``read.FileRefused`` when the file cannot be read."""
    try:
        kind = await asyncio.to_thread(header_check, path)
    except BaseException:
        discard(path)
        raise
    import_id = await import_store.create(pool, brand_id, who, filename, kind,
                                          state_only=state_only)

    async def run() -> None:
        try:
            await import_store.store_file(pool, import_id, brand_id, who, path)
        except Exception as exc:  # the import row says it failed; nothing else to do
            log.warning("import not stored", import_id=import_id, error=str(exc)[:300])
        finally:
            discard(path)

    task = asyncio.create_task(run())
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return import_id


def _filename(request: web.Request) -> str | None:
    raw = request.query.get("filename")
    if raw is None:
        return None
    from inbound.api import inputs
    return inputs.text(raw, "filename", max_length=FILENAME_MAX)


def _state_only(request: web.Request) -> bool:
    """``state_only=true``: seed the mirror with the file's consents, never push them."""
    raw = request.query.get("state_only")
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise invalid("state_only", "expected true or false")


@routes.post("/brands/{brand_id}/imports")
async def upload(request: web.Request) -> web.Response:
    pool, brand_id, caller = await visible_brand(request)
    filename = _filename(request)
    state_only = _state_only(request)
    path = await spool(request)
    try:
        import_id = await start_import(pool, brand_id, uploader_of(caller, AUDIT_VIA.get()),
                                       path, filename, state_only=state_only)
    except read.FileRefused as exc:
        raise invalid("body", str(exc)) from None
    return web.json_response({"id": import_id, "state": "storing",
                              "url": f"{request.path}/{import_id}"}, status=202)


async def _import(request: web.Request) -> tuple[asyncpg.Pool, str, int]:
    pool, brand_id, _ = await visible_brand(request)
    return pool, brand_id, params.path_id(request, "import_id")


@routes.get("/brands/{brand_id}/imports/{import_id}")
async def show(request: web.Request) -> web.Response:
    pool, brand_id, import_id = await _import(request)
    found = await results.summary(pool, import_id, brand_id)
    if found is None:
        raise Problem(404, "import not found")
    return web.json_response(found)


@routes.get("/brands/{brand_id}/imports/{import_id}/rows.csv")
async def rows_csv(request: web.Request) -> web.StreamResponse:
    pool, brand_id, import_id = await _import(request)
    if await results.summary(pool, import_id, brand_id) is None:
        raise Problem(404, "import not found")
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="import-{import_id}-rows.csv"'})
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    await response.write(b"\xef\xbb\xbf")   # Excel opens UTF-8 CSV right with a BOM
    count = 0
    async for line in results.rows_csv(pool, import_id):
        writer.writerow(line)
        count += 1
        if count % 1000 == 0:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


@routes.post("/brands/{brand_id}/imports/{import_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    pool, brand_id, import_id = await _import(request)
    if await results.summary(pool, import_id, brand_id) is None:
        raise Problem(404, "import not found")
    if not await results.cancel(pool, import_id, brand_id):
        raise Problem(409, "only an import that is being pushed can be cancelled",
                      title="Not cancellable")
    return web.json_response(await results.summary(pool, import_id, brand_id))


async def wait_for_storing() -> None:
    """Wait for the imports being stored in this process (tests; orderly shutdown)."""
    with contextlib.suppress(Exception):
        await asyncio.gather(*list(_TASKS), return_exceptions=True)

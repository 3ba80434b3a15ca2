"""Storing a consent file (issue #31): read, check, copy in, mark, record — one transaction.

A thread reads the file and checks each row (``read``, ``check``; CPU work that must not
hold the event loop), handing chunks of rows through a small bounded queue to COPY, so the
memory used is a few chunks whatever the file's size. Once every row is in
``consent_import_row``, PostgreSQL itself marks the duplicates within the file and the rows
that change nothing (one statement each, on the server, not a dict of a million keys in
Python), then records the valid rows as ``consent_submission`` (via 'import', the evidence)
and ``consent_event`` rows parked for the pusher's import lane. All of it commits at once:
a crash while storing leaves nothing but the import row, which then says it failed
(``fail_stale``); a crash after the commit loses nothing, the pusher carries on.

A "state only" import (``create(..., state_only=True)``, issue #29's seeding of a brand's
existing consents) is checked the same way but without the three-business-day window, and
its valid rows go into the mirror through ``iys_push.mirror.seed_state`` (origin ``seed``)
in the same transaction instead of becoming events: nothing of it is ever sent to İYS.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from inbound import sqlfile
from inbound.imports import check as row_check  # a module: it imports the API, which imports us
from inbound.imports import read
from iys_push import mirror
from iys_push.store import SQL as PUSH_SQL

log = structlog.get_logger(__name__)
SQL = sqlfile.load("inbound", "sql/imports.sql")

CHUNK = 5000                    # rows per hand-over from the reading thread
QUEUE_CHUNKS = 4                # chunks in flight: the memory bound
PROGRESS_EVERY = 50_000         # rows between progress heartbeats
STORE_TIMEOUT = 3600.0          # seconds a file's COPY or marking statement may take
ANALYZE_FROM = 10_000           # rows of a file after which the outbox is analysed at once
MAX_ROWS = 2_000_000            # rows of one file (an XLSX sheet holds 1,048,575)
ROW_COLUMNS = ("import_id", "row_no", "recipient_input", "type", "status", "source",
               "recipient_type", "consent_date_input", "recipient", "consent_date",
               "deadline_at", "outcome", "code", "reason", "submission_id", "event_id")


@dataclass(frozen=True)
class Uploader:
    via: str                    # api | web | cli
    actor: str                  # 'owner:ID', 'token:ID', 'admin', 'cli'


async def create(pool: asyncpg.Pool, brand_id: str, who: Uploader, filename: str | None,
                 fmt: str, *, state_only: bool = False) -> int:
    import_id = int(await pool.fetchval(SQL.create_import, brand_id, who.via, who.actor,
                                        (filename or "")[:200] or None, fmt))
    if state_only:
        await pool.execute(SQL.set_state_only, import_id)
    return import_id


def _row_record(import_id: int, row_no: int, row: dict[str, str | None],
                now: datetime, state_only: bool) -> tuple[Any, ...]:
    raw = (row.get("recipient"), row.get("type"), row.get("status"), row.get("source"),
           row.get("recipient_type"), row.get("consent_date"))
    if row_no > MAX_ROWS:
        return (import_id, row_no, *raw, None, None, None, "refused", "TOO_MANY_ROWS",
                f"a file may hold at most {MAX_ROWS:,} rows: split it")
    checked = row_check.check_row(row, row_no, now, state_only=state_only)
    c = checked.consent
    if c is None:
        return (import_id, row_no, *raw, None, None, None, "refused", checked.code,
                checked.reason)
    return (import_id, row_no, c.recipient_input, c.types[0], c.status, c.source,
            c.recipient_type, raw[5], c.recipient, c.consent_date, checked.deadline_at,
            "valid", None, None)


def _produce(path: Path, import_id: int, loop: asyncio.AbstractEventLoop,
             queue: asyncio.Queue[list[tuple[Any, ...]] | BaseException | None],
             stop: threading.Event, state_only: bool) -> None:
    """In a thread: read and check the file, put chunks on the queue, then None (or the
    exception that ended it)."""
    def put(item: list[tuple[Any, ...]] | BaseException | None) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    now = row_check.now_utc()   # one moment for the whole file: the window is judged at upload
    try:
        with path.open("rb") as stream:
            chunk: list[tuple[Any, ...]] = []
            for row_no, row in enumerate(read.rows(stream), start=1):
                chunk.append(_row_record(import_id, row_no, row, now, state_only))
                if len(chunk) >= CHUNK:
                    if stop.is_set():
                        return
                    put(chunk)
                    chunk = []
            if chunk:
                put(chunk)
        put(None)
    except BaseException as exc:  # handed to the storing side, which fails the import
        put(exc)


async def store_file(pool: asyncpg.Pool, import_id: int, brand_id: str, who: Uploader,
                     path: Path, progress: Callable[[int], None] | None = None
                     ) -> dict[str, Any]:
    """Read, check and store the file of an import created with ``create``; returns the
    counts. A file that cannot be read fails the import (its ``error`` says why) and raises
    ``read.FileRefused``."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[tuple[Any, ...]] | BaseException | None] = asyncio.Queue(
        QUEUE_CHUNKS)
    stop = threading.Event()
    state_only = bool(await pool.fetchval(SQL.is_state_only, import_id))
    producer = loop.run_in_executor(None, _produce, path, import_id, loop, queue, stop,
                                    state_only)
    read_count = 0
    started = time.monotonic()
    seconds: dict[str, float] = {}     # where the time went, in the log line at the end
    try:
        async with pool.acquire() as conn, conn.transaction():
            failure: list[BaseException] = []

            async def fetch_ids() -> list[tuple[int, int]]:
                taken = await pool.fetchrow(SQL.take_ids, CHUNK)
                return list(zip(taken["submission_ids"], taken["event_ids"], strict=True))

            def take_ids() -> asyncio.Task[list[tuple[int, int]]]:
                return asyncio.ensure_future(fetch_ids())

            async def records() -> Any:
                nonlocal read_count
                next_beat = PROGRESS_EVERY
                # ids a chunk ahead: fetched on another connection while this chunk is
                # copied (fetching them in line stalled the COPY ~18 s a million rows)
                ahead = None if state_only else take_ids()
                spare: list[tuple[int, int]] = []
                while True:
                    item = await queue.get()
                    if item is None or isinstance(item, BaseException):
                        if isinstance(item, BaseException):
                            failure.append(item)
                        if ahead is not None:
                            await asyncio.gather(ahead, return_exceptions=True)
                        return
                    valid = [i for i, r in enumerate(item) if r[11] == "valid"]
                    while ahead is not None and len(spare) < len(valid):
                        spare += await ahead
                        ahead = take_ids()
                    if ahead is not None:   # (a state-only import records no events)
                        ids, spare = spare[:len(valid)], spare[len(valid):]
                        for i, (sub_id, event_id) in zip(valid, ids, strict=True):
                            item[i] = (*item[i], sub_id, event_id)
                    for record in item:
                        yield record if len(record) > 14 else (*record, None, None)
                    read_count += len(item)
                    if progress is not None:
                        progress(read_count)
                    if read_count >= next_beat:
                        next_beat += PROGRESS_EVERY
                        await pool.execute(SQL.progress, import_id, read_count)

            # the pool's command timeout (60 s) is for ordinary statements: a file of a
            # million rows is read, checked and copied in one COPY
            await conn.copy_records_to_table("consent_import_row", records=records(),
                                              columns=ROW_COLUMNS, timeout=STORE_TIMEOUT)
            if failure:
                raise failure[0]
            seconds["copy"] = time.monotonic() - started
            steps = [("analyze", "ANALYZE consent_import_row", ()),
                     ("mark_duplicates", SQL.mark_duplicates, (import_id,)),
                     ("mark_known", SQL.mark_known, (import_id, brand_id))]
            if not state_only:
                steps += [("record_submissions", SQL.record_submissions,
                           (import_id, brand_id, who.actor)),
                          ("record_events", SQL.record_events, (import_id, brand_id))]
                if read_count >= ANALYZE_FROM:
                    # A large file can outgrow what the planner last saw of the outbox (a
                    # table emptied or young): with those statistics the pusher's statements
                    # over it picked plans that walked every import row per live row — a
                    # bench run that sent nothing for 30 s. Analysed here, in the storing
                    # transaction (which counts its own new rows), the first claim is right.
                    steps.append(("analyze_events", "ANALYZE consent_event, consent_submission",
                                  ()))
            for name, statement, args in steps:
                step_started = time.monotonic()
                await conn.execute(statement, *args, timeout=STORE_TIMEOUT)
                seconds[name] = time.monotonic() - step_started
            if state_only:
                await _seed_rows(conn, import_id, brand_id)
            counts = _counts(await conn.fetch(SQL.count_rows, import_id))
            await conn.execute(SQL.stored, import_id, read_count, counts["valid"],
                               counts["refused"], counts["duplicate"], counts["unchanged"],
                               json.dumps(counts["refused_by"]))
            if state_only:
                await conn.execute(SQL.seeded, import_id)
            else:
                await conn.execute(PUSH_SQL.notify_outbox)
    except read.FileRefused as exc:
        await pool.execute(SQL.fail_import, import_id, str(exc))
        raise
    except BaseException as exc:
        stop.set()
        while not queue.empty():   # free the reading thread if it waits on a full queue
            queue.get_nowait()
        await asyncio.shield(pool.execute(
            SQL.fail_import, import_id, f"not stored: {type(exc).__name__}: {str(exc)[:300]}"))
        raise
    finally:
        stop.set()
        while not queue.empty():
            queue.get_nowait()
        await asyncio.gather(producer, return_exceptions=True)
    log.info("consent file stored", import_id=import_id, brand=brand_id, rows=read_count,
             valid=counts["valid"], refused=counts["refused"],
             seconds={k: round(v, 1) for k, v in seconds.items()},
             total=round(time.monotonic() - started, 1))
    return {"read": read_count, **counts}


async def _seed_rows(conn: asyncpg.Connection, import_id: int, brand_id: str) -> int:
    """A state-only import's valid rows into the mirror, through ``mirror.seed_state`` (the
    seeding writer: origin ``seed``, a key that agrees is left alone), ``CHUNK`` at a time
    (read through a cursor: flat memory); returns the mirror rows changed."""
    brand_code = await conn.fetchval(SQL.brand_code, brand_id)
    changed = 0
    group: tuple[str, str] | None = None
    recipients: list[str] = []
    onay: set[str] = set()

    async def flush() -> None:
        nonlocal changed, recipients, onay
        if group is not None and recipients:
            changed += await mirror.seed_state(conn, brand_code, group[0], group[1], onay,
                                               recipients)
        recipients, onay = [], set()

    async for row in conn.cursor(SQL.valid_rows, import_id, prefetch=CHUNK):
        key = (row["recipient_type"], row["type"])
        if key != group or len(recipients) >= CHUNK:
            await flush()
            group = key
        recipients.append(row["recipient"])
        if row["status"] == "ONAY":
            onay.add(row["recipient"])
    await flush()
    log.info("state-only import seeded the mirror", import_id=import_id, changed=changed)
    return changed


def _counts(rows: list[asyncpg.Record]) -> dict[str, Any]:
    out: dict[str, Any] = {"valid": 0, "refused": 0, "duplicate": 0, "unchanged": 0,
                           "refused_by": {}}
    for r in rows:
        out[r["outcome"]] += r["n"]
        if r["outcome"] == "refused":
            out["refused_by"][r["code"] or "other"] = r["n"]
    return out

"""An import as a resource (issue #31): its counts and progress, its rows with their results
(the file back, one result column per row), and cancelling it.

A row's result: ``refused`` / ``duplicate`` / ``unchanged`` (decided here, before anything
was sent, with the reason), or its event's outcome in İYS: ``accepted`` (with İYS's
transaction id), ``pending`` (not sent yet, or sent and its result not polled yet),
``failed`` (İYS's code and message), ``superseded`` (a newer movement of the key was in İYS),
``not_needed`` (İYS held that state already), ``duplicate``, or ``cancelled``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from inbound import sqlfile
from iys_push.timefmt import iso_tr

SQL = sqlfile.load("inbound", "sql/imports.sql")
CSV_HEADER = ["row", "recipient", "type", "status", "source", "recipient_type",
              "consent_date", "result", "transaction_id", "detail"]
FETCH = 2000                    # rows a cursor round trip


def _when(value: Any) -> str | None:
    return iso_tr(value) if value is not None else None


async def summary(pool: asyncpg.Pool, import_id: int, brand_id: str) -> dict[str, Any] | None:
    """The import's state, counts and progress; None when the brand has no such import."""
    row = await pool.fetchrow(SQL.get_import, import_id, brand_id)
    if row is None:
        return None
    by_state = {r["state"]: r["n"] for r in await pool.fetch(SQL.event_counts, import_id)}
    waiting = by_state.get("parked", 0)
    in_flight = by_state.get("pending", 0)
    settled = sum(n for s, n in by_state.items() if s not in ("parked", "pending"))
    valid = row["rows_valid"]
    refused_by = row["refused_by"]
    if isinstance(refused_by, str):
        refused_by = json.loads(refused_by)
    counts = {
        "read": row["rows_read"], "valid": valid, "refused": row["rows_refused"],
        "refused_by_reason": refused_by, "duplicate": row["rows_duplicate"],
        "unchanged": row["rows_unchanged"],
        "pushed": (valid - waiting - by_state.get("dismissed", 0)
                   if row["stored_at"] and not row["state_only"] else 0),
        "waiting": waiting, "in_flight": in_flight,
        "accepted": by_state.get("accepted", 0), "failed": by_state.get("failed", 0),
        "not_needed": by_state.get("not_needed", 0) + by_state.get("duplicate", 0),
        "superseded": by_state.get("superseded", 0),
        "cancelled": by_state.get("dismissed", 0),
    }
    if row["state"] == "storing":
        progress = 0.0
    elif valid and not row["state_only"]:
        progress = round(settled / valid, 4)
    else:
        progress = 1.0
    return {"id": row["id"], "brand": row["brand_id"], "state": row["state"],
            "filename": row["filename"], "format": row["format"], "via": row["via"],
            "state_only": row["state_only"],
            "error": row["error"], "created_at": _when(row["created_at"]),
            "stored_at": _when(row["stored_at"]), "cancelled_at": _when(row["cancelled_at"]),
            "finished_at": _when(row["finished_at"]), "counts": counts,
            "progress": progress}


def result_of(row: asyncpg.Record) -> tuple[str, str, str]:
    """(result, transaction id, detail) of one row."""
    if row["outcome"] != "valid":
        return row["outcome"], "", row["reason"] or ""
    state = row["state"]
    if state is None and row["state_only"]:
        return "seeded", "", "recorded in the mirror (state only): never sent to İYS"
    if state is None:
        return "pending", "", ""
    if state == "dismissed":
        return "cancelled", "", row["last_error"] or ""
    detail = ""
    if row["last_error_code"] or row["last_error"]:
        detail = f"{row['last_error_code'] or ''} {row['last_error'] or ''}".strip()
    return state, row["iys_transaction_id"] or "", detail


async def rows_csv(pool: asyncpg.Pool, import_id: int) -> AsyncIterator[list[str]]:
    """The header, then every row of the file as written with its result, in file order
    (read through a cursor: a million rows are never held at once)."""
    yield CSV_HEADER
    async with pool.acquire() as conn, conn.transaction():
        async for row in conn.cursor(SQL.result_rows, import_id, prefetch=FETCH):
            result, transaction, detail = result_of(row)
            yield [str(row["row_no"]), row["recipient_input"] or "", row["type"] or "",
                   row["status"] or "", row["source"] or "", row["recipient_type"] or "",
                   row["consent_date_input"] or "", result, transaction, detail]


async def cancel(pool: asyncpg.Pool, import_id: int, brand_id: str) -> bool:
    """Cancel an import that is pushing: its rows not sent yet are not sent. False when it
    is not pushing (finished, cancelled, failed, still storing) or not the brand's."""
    async with pool.acquire() as conn, conn.transaction():
        state = await conn.fetchval(SQL.lock_import_state, import_id, brand_id)
        if state != "pushing":
            return False
        await conn.execute(SQL.cancel, import_id, brand_id)
    return True

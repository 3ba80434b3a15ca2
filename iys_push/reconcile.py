"""The daily reconciliation ("günlük mutabakat", IYS_API.md §2.9), per brand and day.

1. Fetch the day's movement file (CSV, or 204: none), İYS's counts per recipient type, and
   the agreement (``hashValue``: SHA-384 of the file as served).
2. Apply the file through iys_push.mirror.apply_movements (channel ``reconcile``): what the
   mirror missed (a movement of another integrator, of the portal, one the feeds skipped)
   enters it; our own movements are recognised by transaction id.
3. Drift: every accepted event of ours whose İYS creation date falls on the day and whose
   transaction id the file lacks. It is reported and sent again (an opt-out İYS lost must
   not stay lost; a resend İYS has already is answered H174, i.e. not_needed) when the file
   is one İYS vouches for (hash and counts agree) and the event is still inside İYS's three
   business days; otherwise it stays accepted and the report says a person must check it.
4. The outcome: ``matched`` (hash, counts and our events agree), ``drift``, ``mismatch``
   (hash or counts disagree with the file, or unreadable rows), ``unavailable`` (no file).
5. The agreement (``PUT``) is recorded only for a ``matched`` day, and only when the brand's
   owner chose it: an explicit action (``agree=True``: API, CLI) or the brand's setting
   ``reconcile_auto_agree`` (default off; it is the brand's legal statement).

The report (``iys_reconciliation``, one row per brand and day, the latest run) is what the
API, the CLI and the web page show; a matched day moves ``iys_mirror_status.reconciled_day``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import structlog

from iys_push import mirror, mirror_client
from iys_push.client import IysClient, TokenHalted
from smpp_bind.addresses import mask_msisdn

log = structlog.get_logger(__name__)

FIELDS = ("creationDate", "transactionId", "recipient", "recipientType", "type", "status",
          "consentDate", "source")


class UnknownBrand(LookupError):
    pass


def parse_file(text: str) -> tuple[list[mirror.Movement], list[str]]:
    """The file's movements, and a reason for each row that is not one."""
    movements, bad = [], []
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is not None and tuple(reader.fieldnames) != FIELDS:
        bad.append(f"columns {reader.fieldnames} (expected {', '.join(FIELDS)})")
    for number, row in enumerate(reader, start=2):
        try:
            movements.append(mirror.movement_of({k: v for k, v in row.items() if k}))
        except mirror.BadMovement as exc:
            bad.append(f"line {number}: {exc}")
    return movements, bad


async def _counted(client: IysClient, iys_code: int, brand_code: int, day: str) -> int | None:
    """İYS's own count of the day's movements (both recipient types); None if not told."""
    total = 0
    for recipient_type in ("BIREYSEL", "TACIR"):
        answer = await mirror_client.day_counts(client, iys_code, brand_code, day,
                                                recipient_type)
        if answer.status == 204:
            continue
        if not answer.ok or not isinstance(answer.body, dict):
            return None
        total += sum(int(c.get("total") or 0) for c in answer.body.get("list") or []
                     if isinstance(c, dict))
    return total


async def reconcile_day(pool: asyncpg.Pool, client: IysClient, brand_id: str, day: date, *,
                        agree: bool | None = None) -> dict[str, Any]:
    """Run one day's reconciliation for a brand; returns the stored report.
    ``agree``: True records the agreement if the day matches, False never, None as the
    brand's setting says."""
    brand = await pool.fetchrow(mirror.SQL.brand_by_id, brand_id)
    if brand is None:
        raise UnknownBrand(brand_id)
    try:
        return await _reconcile(pool, client, brand, day, agree)
    except (ConnectionError, TokenHalted, OSError) as exc:   # İYS out of reach: reported
        return await _save(pool, brand["brand_code"], day, "unavailable",
                           detail=f"İYS not reachable: {type(exc).__name__}: {exc}"[:500])


async def _reconcile(pool: asyncpg.Pool, client: IysClient, brand: asyncpg.Record, day: date,
                     agree: bool | None) -> dict[str, Any]:
    brand_id = brand["id"]
    iys_code, brand_code, text_day = brand["iys_code"], brand["brand_code"], day.isoformat()
    answer = await mirror_client.day_file(client, iys_code, brand_code, text_day)
    if answer.status != 204 and not (answer.ok and isinstance(answer.body, str)):
        return await _save(pool, brand_code, day, "unavailable", detail=(
            f"İYS's file: HTTP {answer.status} {answer.code or ''} {answer.message}".strip()))
    text = answer.body if answer.status != 204 else ""
    movements, bad = parse_file(text)
    file_hash = hashlib.sha384(text.encode("utf-8")).hexdigest() if text else None
    agreement = await mirror_client.agreement(client, iys_code, brand_code, text_day)
    iys_hash = agreement.body.get("hashValue") if agreement.ok and isinstance(
        agreement.body, dict) else None
    already_agreed = bool(agreement.ok and isinstance(agreement.body, dict)
                          and agreement.body.get("agreementStatus") is True)
    hash_ok = iys_hash == file_hash if (agreement.ok or agreement.status == 204) else None
    counted = await _counted(client, iys_code, brand_code, text_day)
    problems = list(bad)
    if hash_ok is not True:
        problems.append("the agreement hash does not match the file as served"
                        if hash_ok is False else "İYS gave no agreement hash")
    if counted is not None and counted != len(movements):
        problems.append(f"İYS counts {counted} movements, the file has {len(movements)}")
    # Sending again is for a file İYS vouches for (its hash and counts agree): a short or
    # broken file would otherwise resend a whole day. And only what İYS still takes: an event
    # past its three business days would be refused (H467), so it stays accepted, reported.
    trusted = bool(text) and not problems
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        applied = await mirror.apply_movements(conn, brand_code, movements, "reconcile")
        in_file = {m.transaction_id for m in movements}
        ours = await conn.fetch(mirror.SQL.day_events, brand_code, day)
        drifted = [e for e in ours if e["iys_transaction_id"] not in in_file]
        resent = {e["id"] for e in drifted if trusted and e["deadline_at"] > now}
        if resent:
            await conn.execute(mirror.SQL.requeue_drifted, sorted(resent), text_day)
    outcome = "mismatch" if problems else ("drift" if drifted else "matched")
    if drifted:
        problems.append(_drift_detail(len(drifted), len(resent), trusted))
    agreed = None
    wanted = agree if agree is not None else bool(brand["reconcile_auto_agree"])
    if outcome == "matched" and text and wanted and not already_agreed:
        put = await mirror_client.put_agreement(client, iys_code, brand_code, text_day)
        if put.ok and isinstance(put.body, dict) and put.body.get("agreementCaptured"):
            agreed = True
        else:
            problems.append(f"the agreement was not recorded: HTTP {put.status} "
                            f"{put.code or ''}".strip())
    if outcome == "matched":
        await pool.execute(mirror.SQL.mark_reconciled, brand_code, day)
    drift = [{"event_id": e["id"], "transaction_id": e["iys_transaction_id"],
              "recipient": _masked(e["recipient"]),
              "type": e["type"], "status": e["status"], "resent": e["id"] in resent}
             for e in drifted]
    report = await _save(
        pool, brand_code, day, outcome, file_rows=len(movements), counted=counted,
        file_hash=file_hash, iys_hash=iys_hash, hash_ok=hash_ok,
        applied=applied.new - applied.ours, drift=drift, detail="; ".join(problems) or None,
        agreed=agreed)
    log.info("reconciliation", brand=brand_id, day=text_day, outcome=outcome,
             file_rows=len(movements), applied=report["applied"], drift=len(drift),
             agreed=agreed)
    return report


async def _save(pool: asyncpg.Pool, brand_code: int, day: date, outcome: str, *,
                file_rows: int = 0, counted: int | None = None, file_hash: str | None = None,
                iys_hash: str | None = None, hash_ok: bool | None = None, applied: int = 0,
                drift: list[dict[str, Any]] | None = None, detail: str | None = None,
                agreed: bool | None = None) -> dict[str, Any]:
    row = await pool.fetchrow(
        mirror.SQL.save_report, brand_code, day, outcome, file_rows, counted, file_hash,
        iys_hash, hash_ok, applied, len(drift or []), json.dumps(drift or []), detail,
        datetime.now(UTC) if agreed else None)
    return report_view(row)


def _drift_detail(drifted: int, resent: int, trusted: bool) -> str:
    said = f"{drifted} accepted event(s) of ours missing from İYS's file: {resent} sent again"
    if resent == drifted:
        return said
    if trusted:
        return f"{said}, {drifted - resent} past İYS's three business days: a person must check"
    return f"{said}, {drifted - resent} not, as the file is not confirmed: a person must check"


def _masked(recipient: str) -> str:
    if "@" in recipient:
        return "***@" + recipient.partition("@")[2]
    return mask_msisdn(recipient)


def report_view(row: asyncpg.Record) -> dict[str, Any]:
    """A stored report as the API, the CLI and the web page show it."""
    drift = row["drift"]
    return {"day": row["day"].isoformat(), "outcome": row["outcome"],
            "ran_at": row["ran_at"].isoformat(), "runs": row["runs"],
            "file_rows": row["file_rows"], "counted_rows": row["counted_rows"],
            "file_hash": row["file_hash"], "iys_hash": row["iys_hash"],
            "hash_ok": row["hash_ok"], "applied": row["applied"],
            "drift_rows": row["drift_rows"],
            "drift": json.loads(drift) if isinstance(drift, str) else drift,
            "detail": row["detail"],
            "agreed_at": row["agreed_at"].isoformat() if row["agreed_at"] else None}

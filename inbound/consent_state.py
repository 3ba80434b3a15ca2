"""A recipient's current consent state for a brand, as known here (issue #28, item 4).

Per (recipient type, type): the last movement İYS holds as far as we know — the pusher's
per-key view ``iys_key_state`` (our accepted pushes, pulled İYS-side changes, status
queries) — with its date, source and transaction id, the events still pending here, and
``as_of`` (when that view was last written). ``refresh`` asks İYS's single status endpoint
first, within the shared hourly budget (``iys_push.status_budget``), and writes what it says
into the same view the pusher reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from inbound import consent_store
from iys_push import status_budget, store
from iys_push.client import IysClient
from iys_push.timefmt import iso_tr, parse_iys

SQL = consent_store.SQL   # inbound/sql/consents.sql

# the İYS transaction ids of the refreshed keys, kept until the next read of this request
Refreshed = dict[tuple[str, str], dict[str, Any]]


def keys_for(recipient: str, type_: str | None, recipient_type: str | None
             ) -> list[tuple[str, str]]:
    """(recipient_type, type) pairs a recipient can have: an e-mail address only EPOSTA, a
    phone number MESAJ and ARAMA; each BIREYSEL and TACIR (or the ones asked for)."""
    types = ["EPOSTA"] if "@" in recipient else ["MESAJ", "ARAMA"]
    if type_ is not None:
        types = [t for t in types if t == type_]
    kinds = [recipient_type] if recipient_type else ["BIREYSEL", "TACIR"]
    return [(k, t) for k in kinds for t in types]


async def refresh(pool: asyncpg.Pool, client: IysClient, brand_id: str, recipient: str,
                  keys: list[tuple[str, str]]) -> status_budget.Refusal | Refreshed:
    """Ask İYS for each key (one budgeted status call each); what it holds goes into the
    per-key view. A refusal when the budget has no room for all of them (nothing asked)."""
    refused = await status_budget.take(pool, client.settings.account, len(keys))
    if refused is not None:
        return refused
    codes = await pool.fetchrow(SQL.brand_codes, brand_id)
    out: Refreshed = {}
    for recipient_type, type_ in keys:
        try:
            answer = await client.consent_status(codes["iys_code"], codes["brand_code"],
                                                 recipient, recipient_type, type_,
                                                 budgeted=True)
        except Exception as exc:  # İYS or the token away: the local state still answers
            out[(recipient_type, type_)] = {"outcome": "error", "detail": type(exc).__name__}
            continue
        body = answer.body
        if not answer.ok or not isinstance(body, dict) or body.get("status") not in (
                "ONAY", "RET"):
            out[(recipient_type, type_)] = {
                "outcome": "unknown" if answer.status == 404 else "error",
                "detail": f"HTTP {answer.status or '-'} {answer.code or ''}".strip()}
            continue
        try:
            date = parse_iys(body["consentDate"]) if body.get("consentDate") else None
        except ValueError:
            date = None
        view = await pool.fetchrow(SQL.view_of_key, codes["brand_code"], recipient,
                                   recipient_type, type_)
        # the date of our own last push keeps its origin (retry.judge_stored's rule)
        origin = (view["origin"] if view is not None and view["consent_date"] == date
                  else "status_date")
        await pool.execute(store.SQL.upsert_key_state, *store.key_state_columns([(
            codes["brand_code"], recipient, recipient_type, type_, body["status"], date,
            body.get("source"), origin)]))
        out[(recipient_type, type_)] = {"outcome": "ok",
                                        "transaction_id": body.get("transactionId")}
    return out


async def current(pool: asyncpg.Pool, brand_id: str, recipient: str,
                  keys: list[tuple[str, str]], refreshed: Refreshed | None = None
                  ) -> dict[str, Any]:
    """The state view of ``recipient`` for ``keys`` (see the module's docstring)."""
    states = {(r["recipient_type"], r["type"]): r
              for r in await pool.fetch(SQL.key_states, brand_id, recipient)}
    pending = await pool.fetch(SQL.recipient_pending_events, brand_id, recipient)
    items = []
    for recipient_type, type_ in keys:
        row = states.get((recipient_type, type_))
        asked = (refreshed or {}).get((recipient_type, type_))
        item: dict[str, Any] = {
            "recipient_type": recipient_type, "type": type_,
            "status": row["status"] if row else None,
            "consent_date": iso_tr(row["consent_date"]) if row and row["consent_date"]
            else None,
            "source": row["source"] if row else None,
            "transaction_id": ((asked or {}).get("transaction_id")
                               or (row["pushed_transaction_id"] or row["pulled_transaction_id"]
                                   if row else None)),
            "known_from": row["origin"] if row else None,
            "as_of": row["updated_at"].isoformat() if row else None,
            "pending": [{"id": e["id"], "status": e["status"], "source": e["source"],
                         "state": e["state"], "consent_date": iso_tr(e["consent_date"]),
                         "deadline_at": e["deadline_at"].isoformat(),
                         "last_error_code": e["last_error_code"]}
                        for e in pending
                        if (e["recipient_type"], e["type"]) == (recipient_type, type_)],
        }
        if asked is not None:
            item["refresh"] = {"outcome": asked["outcome"], "detail": asked.get("detail")}
        items.append(item)
    return {"brand_id": brand_id, "recipient": recipient,
            "as_of": datetime.now(UTC).isoformat(), "states": items}

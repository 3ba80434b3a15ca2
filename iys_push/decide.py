"""What to do with an event before sending it, and what an İYS answer means for it.

Pre-validation keeps requests that İYS would refuse from being sent at all: every 4xx counts
against the IP's success ratio (İYS removes an IP from its whitelist below 70 %).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg

from iys_push import store
from iys_push.client import Answer, IysClient
from iys_push.timefmt import format_iys

State = Literal["accepted", "not_needed", "failed", "retry"]
TR_PHONE = re.compile(r"^\+90[1-9]\d{9}$")

# Documented retry-required codes (IYS_API.md §5.2) plus the inferred ones.
RETRYABLE_CODES = {"H015", "H101", "H102", "H103", "H123", "H124", "H179", "H192", "H412",
                   "H470", "H476", "H083"}


@dataclass(frozen=True)
class Verdict:
    state: State
    reason: str = ""
    code: str | None = None
    message: str | None = None
    transaction_id: str | None = None
    creation_date: str | None = None
    known_status: str | None = None   # what İYS's state for the key is now known to be
    answer: Answer | None = None


async def local_verdict(pool: asyncpg.Pool, client: IysClient, event: Any) -> Verdict | None:
    """A final verdict reached without sending the consent, or None to send it."""
    if not TR_PHONE.match(event["recipient"]):
        return Verdict("failed", "invalid", "LOCAL_RECIPIENT",
                       "recipient is not a +90 E.164 number; İYS would refuse it (H121)")
    if datetime.now(UTC) > event["deadline_at"]:
        return Verdict("failed", "overdue", "LOCAL_H467",
                       "older than three business days: İYS refuses it for ever (H467)")
    row = await pool.fetchrow(store.KEY_STATE, event["brand_code"], event["recipient"],
                              event["recipient_type"], event["type"])
    known = row["status"] if row else None
    if known is None and event["status"] == "RET":
        known = await ask_status(client, event)
    if event["status"] == "RET" and known != "ONAY":
        # no consent in İYS already means rejection; sending would fail with H175 or H174
        return Verdict("not_needed", "no ONAY", None,
                       "İYS has no ONAY for this recipient: nothing to withdraw",
                       known_status=known)
    if event["status"] == "ONAY" and known == "ONAY":
        return Verdict("not_needed", "already ONAY", None, "İYS already has ONAY",
                       known_status="ONAY")
    return None


async def ask_status(client: IysClient, event: Any) -> str | None:
    """ONAY or RET from İYS's batch status endpoint (it lists only ONAY recipients)."""
    answer = await client.call(
        "POST",
        f"/sps/{event['iys_code']}/brands/{event['brand_code']}/consents/"
        f"{event['recipient_type']}/status/{event['type']}",
        {"recipients": [event["recipient"]]}, event_id=event["id"], endpoint="status")
    if not answer.ok or not isinstance(answer.body, dict):
        raise ConnectionError(f"İYS status query failed: HTTP {answer.status} {answer.message}")
    return "ONAY" if event["recipient"] in answer.body.get("list", []) else "RET"


async def prefetch_states(pool: asyncpg.Pool, client: IysClient, events: list[Any]) -> None:
    """Before a large batch: learn İYS's state of every key our view cannot tell, with one
    batch status query per 1000 recipients instead of one per event."""
    groups: dict[tuple[int, int, str, str], list[str]] = {}
    for event in events:
        if event["status"] != "RET":
            continue
        known = await pool.fetchval(store.KEY_STATE_STATUS, event["brand_code"],
                                    event["recipient"], event["recipient_type"], event["type"])
        if known is None:
            key = (event["iys_code"], event["brand_code"], event["recipient_type"], event["type"])
            groups.setdefault(key, []).append(event["recipient"])
    for (iys_code, brand_code, recipient_type, type_), recipients in groups.items():
        unique = list(dict.fromkeys(recipients))
        for start in range(0, len(unique), 1000):
            chunk = unique[start:start + 1000]
            answer = await client.call(
                "POST", f"/sps/{iys_code}/brands/{brand_code}/consents/{recipient_type}/status/"
                f"{type_}", {"recipients": chunk}, endpoint="status")
            if not answer.ok or not isinstance(answer.body, dict):
                raise ConnectionError(f"İYS status query failed: HTTP {answer.status}")
            listed = set(answer.body.get("list", []))
            await pool.executemany(store.UPSERT_KEY_STATE, [
                (brand_code, r, recipient_type, type_, "ONAY" if r in listed else "RET", None,
                 None, "status") for r in chunk])


def classify_answer(answer: Answer) -> Verdict:
    if answer.ok and isinstance(answer.body, dict):
        return Verdict("accepted", "", None, None, answer.body.get("transactionId"),
                       answer.body.get("creationDate"), answer=answer)
    if answer.status is None or answer.status >= 500 or answer.status == 429 or (
            answer.code in RETRYABLE_CODES):
        return Verdict("retry", "temporary" if answer.status else "no answer", answer.code,
                       answer.message, answer=answer)
    if answer.code == "H174":   # RET over RET: İYS already has what we wanted
        return Verdict("not_needed", "already RET", answer.code, answer.message,
                       known_status="RET", answer=answer)
    if answer.code == "H175":   # first movement cannot be RET: there was no ONAY
        return Verdict("not_needed", "no ONAY", answer.code, answer.message,
                       known_status="RET", answer=answer)
    if answer.status == 401:
        return Verdict("retry", "unauthorised", answer.code, answer.message, answer=answer)
    # validation and business-rule errors are never retried blindly
    return Verdict("failed", "rejected", answer.code or f"HTTP{answer.status}",
                   answer.message or str(answer.body)[:300], answer=answer)


async def ordered_consent_date(pool: asyncpg.Pool, event: Any) -> datetime:
    """İYS keeps seconds and needs strictly increasing dates per key: move the date forward
    when needed (the original receipt time stays in ``received_at``)."""
    wanted = event["received_at"].replace(microsecond=0)
    row = await pool.fetchrow(store.KEY_STATE, event["brand_code"], event["recipient"],
                              event["recipient_type"], event["type"])
    if row and row["consent_date"] and wanted <= row["consent_date"]:
        wanted = row["consent_date"] + timedelta(seconds=1)
    if wanted != event["consent_date"]:
        await pool.execute(store.SET_CONSENT_DATE, event["id"], wanted)
    return wanted


def consent_body(event: Any, consent_date: datetime) -> dict[str, Any]:
    """The İYS ``Consent`` body: optional fields omitted, never null (IYS_API.md §1.2)."""
    return {
        "consentDate": format_iys(consent_date),
        "source": event["source"],
        "recipient": event["recipient"],
        "recipientType": event["recipient_type"],
        "status": event["status"],
        "type": event["type"],
    }

"""The body of a webhook: ``{type, timestamp, data}`` (Standard Webhooks) with the API's
own field names, our ids, the brand and its sequence number."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from iys_push.timefmt import iso_tr
from smpp_bind.addresses import mask_msisdn

# the instants İYS deals in are shown in Turkey time, like the API's consent_date
TURKEY_TIMES = frozenset({"consent_date"})
INSTANTS = frozenset({"received_at", "deadline_at"})


def _time(value: Any, turkey: bool) -> Any:
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return iso_tr(moment) if turkey else moment.isoformat()


def event_data(stored: Mapping[str, Any], *, event_id: int, brand_id: str, seq: int | None,
               full_recipient: bool) -> dict[str, Any]:
    data = dict(stored)
    for name in TURKEY_TIMES | INSTANTS:
        if name in data:
            data[name] = _time(data[name], name in TURKEY_TIMES)
    if not full_recipient and isinstance(data.get("recipient"), str):
        data["recipient"] = mask_msisdn(data["recipient"])
    data.update(id=f"evt_{event_id}", brand=brand_id, sequence=seq)
    return data


def body(kind: str, created_at: datetime, data: Mapping[str, Any]) -> bytes:
    """Compact JSON, keys sorted: the exact bytes that are signed and sent."""
    payload = {"type": kind, "timestamp": created_at.isoformat(), "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


def from_row(row: Mapping[str, Any]) -> bytes:
    """The body of a claimed delivery (``claim_due``'s columns)."""
    stored = row["data"]
    if isinstance(stored, str):
        stored = json.loads(stored)
    return body(row["kind"], row["created_at"],
                event_data(stored, event_id=row["event_id"], brand_id=row["brand_id"],
                           seq=row["seq"], full_recipient=row["full_recipient"]))

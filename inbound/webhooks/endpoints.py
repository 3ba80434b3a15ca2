"""Endpoint input and views, shared by the API (inbound/api/routes_webhooks.py), the web page
and the CLI: one place checks a URL, the kinds, the brand filter and the owner's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from inbound.webhooks import KINDS, SQL, new_secret
from inbound.webhooks.safety import AddressPolicy, RefusedTarget, check_url

URL_MAX = 2000
DESCRIPTION_MAX = 200
MAX_OVERLAP_HOURS = 7 * 24


class EndpointInputError(ValueError):
    """A field is wrong: ``field`` and ``reason`` (the API's 422, the page's message)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class EndpointInput:
    url: str
    events: list[str]
    brands: list[str] | None
    full_recipient: bool
    description: str


def check_input(url: str, events: list[str], brands: list[str] | None, owner_brands: set[str],
                policy: AddressPolicy) -> None:
    if len(url) > URL_MAX:
        raise EndpointInputError("url", f"at most {URL_MAX} characters")
    try:
        check_url(url, policy)
    except RefusedTarget as exc:
        raise EndpointInputError("url", str(exc)) from None
    if not events:
        raise EndpointInputError("events", f"at least one of {', '.join(KINDS)}")
    for i, kind in enumerate(events):
        if kind not in KINDS:
            raise EndpointInputError(f"events[{i}]", f"one of {', '.join(KINDS)}")
    if len(set(events)) != len(events):
        raise EndpointInputError("events", "each kind once")
    for i, brand in enumerate(brands or ()):
        if brand not in owner_brands:
            # another owner's brand is not revealed: not one of yours, whoever has it
            raise EndpointInputError(f"brands[{i}]", "not one of the owner's brands")


async def create(pool: asyncpg.Pool, owner_id: int, given: EndpointInput,
                 policy: AddressPolicy) -> dict[str, Any]:
    """The stored endpoint with its secret (the only time the secret is shown)."""
    owner_brands = {r["id"] for r in await pool.fetch(SQL.owner_brands, owner_id)}
    check_input(given.url, given.events, given.brands, owner_brands, policy)
    row = await pool.fetchrow(SQL.insert_endpoint, owner_id, given.url, given.events,
                              given.brands, given.full_recipient, given.description,
                              new_secret())
    return {**view(row), "secret": row["secret"]}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def view(row: Any) -> dict[str, Any]:
    """An endpoint as the API shows it: never a secret."""
    return {"id": row["id"], "owner_id": row["owner_id"], "url": row["url"],
            "events": list(row["events"]),
            "brands": list(row["brands"]) if row["brands"] is not None else None,
            "recipient": "full" if row["full_recipient"] else "masked",
            "description": row["description"],
            "paused_at": _time(row["paused_at"]), "failing_since": _time(row["failing_since"]),
            "previous_secret_until": _time(row["previous_until"]),
            "created_at": _time(row["created_at"]), "updated_at": _time(row["updated_at"])}


def attempt_view(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "event_id": row["event_id"], "type": row["kind"],
            "brand": row["brand_id"], "sequence": row["seq"], "at": _time(row["at"]),
            "latency_ms": round(row["latency_ms"], 1), "http_status": row["http_status"],
            "outcome": row["outcome"], "error": row["error"]}

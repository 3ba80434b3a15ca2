"""What the OpenAPI document cannot say as a schema about consent links, made true of a
generated valid request (the contract test, tests/api/test_contract.py): an expiry in the
future, a recipient in the numbering plan, a CSV of such numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def make_valid(case: Any) -> None:
    path = case.operation.path
    if case.method.upper() != "POST":
        return
    future = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    if path.endswith("/links.csv"):
        case.body = "recipient\n0532 123 45 67\n+905551112233\n"
        if isinstance(case.query, dict) and "expires_at" in case.query:
            case.query["expires_at"] = future
    elif path.endswith("/links") and isinstance(case.body, dict):
        if "recipient" in case.body:
            case.body["recipient"] = "0532 123 45 67"
        if "expires_at" in case.body:
            case.body["expires_at"] = future

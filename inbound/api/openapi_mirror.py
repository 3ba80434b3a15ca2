"""The OpenAPI paths and schemas of the İYS mirror's routes (inbound/api/routes_mirror.py),
merged into the document by inbound/api/openapi.py."""

from __future__ import annotations

from typing import Any

from inbound.api.openapi_schemas import BOOL, INT, NINT, NSTR, NTIME, STR, TIME, anchored, obj, ref

_DAY = {"type": "string", "pattern": anchored("[0-9]{4}-[0-9]{2}-[0-9]{2}")}
_NDAY = {"type": ["string", "null"], "pattern": anchored("[0-9]{4}-[0-9]{2}-[0-9]{2}")}
_PROBLEM = {"description": "an error (see the description above)",
            "content": {"application/problem+json": {"schema": ref("Problem")}}}
_BRAND_ID = {"name": "brand_id", "in": "path", "required": True,
             "schema": {"type": "string", "maxLength": 63}, "example": "acme"}
_OK = {"description": "OK",
       "content": {"application/json": {"schema": ref("Reconciliations")}}}

SCHEMAS: dict[str, Any] = {
    "Reconciliation": obj({
        "day": _DAY,
        "outcome": {"enum": ["matched", "drift", "mismatch", "unavailable"]},
        "ran_at": TIME, "runs": INT, "file_rows": INT, "counted_rows": NINT,
        "file_hash": NSTR, "iys_hash": NSTR, "hash_ok": {"type": ["boolean", "null"]},
        "applied": {**INT, "description": "movements the mirror had missed, applied now"},
        "drift_rows": {**INT, "description": "accepted events of ours missing from İYS's "
                       "file"},
        "drift": {"type": "array", "items": obj({
            "event_id": INT, "transaction_id": STR, "recipient": STR, "type": STR,
            "status": STR,
            "resent": {**BOOL, "description": "sent to İYS again: only from a file İYS vouches "
                       "for (hash and counts agree) and inside the three business days; "
                       "absent in reports made before this field existed"}},
            required=["event_id", "transaction_id", "recipient", "type", "status"])},
        "detail": NSTR, "agreed_at": NTIME}),
    "Reconciliations": obj({
        "brand_id": STR, "auto_agree": BOOL,
        "mirror": obj({"pulled_at": NTIME, "pushed_at": NTIME, "push_registered": BOOL,
                       "reconciled_day": _NDAY}),
        "items": {"type": "array", "items": ref("Reconciliation")}}),
    "ReconcileInput": obj({
        "date": {**_DAY, "description": "Turkey-time day, at most 7 days back"},
        "agree": {**BOOL, "description": "record the agreement in İYS if everything matches "
                  "(the brand's legal statement)"},
        "auto_agree": {**BOOL, "description": "the brand's setting: agree to matching days "
                       "automatically (default off)"}}, []),
}
# a day to run, or the setting alone
SCHEMAS["ReconcileInput"]["anyOf"] = [
    {"required": ["date"]}, {"required": ["auto_agree"], "not": {"required": ["agree"]}}]

PATHS: dict[str, Any] = {
    "/brands/{brand_id}/reconciliations": {
        "parameters": [_BRAND_ID],
        "get": {"summary": "The İYS mirror's freshness and the daily reconciliation reports "
                "(newest first, a month at most)", "tags": ["mirror"],
                "parameters": [{"name": "date", "in": "query", "required": False,
                                "schema": _DAY, "description": "only this day"}],
                "responses": {"200": _OK, "default": _PROBLEM}},
        "post": {"summary": "Reconcile one day with İYS's daily file now, and/or set the "
                 "automatic agreement; answers the report", "tags": ["mirror"],
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": ref("ReconcileInput")}}},
                 "responses": {"200": _OK, "default": _PROBLEM}},
    },
}

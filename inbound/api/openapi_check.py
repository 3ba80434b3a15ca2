"""The pre-send check's part of the OpenAPI document (issue #29), merged into
``openapi.PATHS`` and ``openapi_schemas.SCHEMAS``."""

from __future__ import annotations

from typing import Any

from inbound.api.openapi_schemas import BOOL, INT, NO_NUL, NSTR, STR, obj, ref
from inbound.presend import BLOCK_REASONS, INVALID_REASONS, MAX_INPUT_LENGTH, CheckSettings

_BRAND_ID = {"name": "brand_id", "in": "path", "required": True,
             "schema": {"type": "string", "maxLength": 63}, "example": "acme"}
_PROBLEM = {"description": "an error", "content": {"application/problem+json": {
    "schema": ref("Problem")}}}
_STALE = {"description": "strict=true and the mirror is stale: nothing was checked (the "
                         "problem's detail gives as_of and the limit)",
          "content": {"application/problem+json": {"schema": ref("Problem")}}}
_TYPES = {"enum": ["MESAJ", "ARAMA", "EPOSTA"]}
_RECIPIENT_TYPES = {"enum": ["BIREYSEL", "TACIR"]}

RULES = (
    "A number is **allowed** only when İYS holds ONAY for the key (brand, recipient, "
    "recipient_type, type) in the mirror kept here, no RET for it is pending here with a "
    "consent date at or after the mirror's, and no message from that number waits for review "
    "at this brand. Otherwise it is **blocked** with `why`: `ret` (İYS holds RET), "
    "`no_record` (the mirror knows no consent), `ret_pending_here`, `review_pending_here`. "
    "Numbers are read as people type them (`0532 123 45 67`, `532…`, `+90 532 …`); what "
    "cannot be a recipient of the type is **invalid** with a reason "
    f"({', '.join(INVALID_REASONS)}). `as_of`: the newest moment the mirror is complete for "
    "(with İYS's push registered: the last pushed movement or pull; without: the last pull "
    "less the hour İYS hides from pulls). `freshness.verdict` is `stale` beyond "
    f"{CheckSettings().fresh_with_push:.0f} s (push) / "
    f"{CheckSettings().fresh_without_push:.0f} s (no push) by default (`[check]`); with "
    "`strict` a stale mirror answers **409** and nothing is checked.")

PATHS: dict[str, Any] = {
    "/brands/{brand_id}/check": {
        "parameters": [_BRAND_ID],
        "post": {
            "summary": "Pre-send check: which of these numbers may the brand message now "
                       f"(up to {CheckSettings().max_recipients:,}; use check.csv for more)",
            "description": RULES + " `live=true` asks İYS's batch status (1,000 numbers a "
                           "request) about the numbers the mirror does not know, within the "
                           "pre-send budget (`[check] live_requests_per_check`, "
                           "`live_requests_per_hour`); İYS's ONAYs go into the mirror and "
                           "`live` reports how many were asked.",
            "tags": ["check"],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": ref("CheckRequest")}}},
            "responses": {"200": {"description": "the verdicts", "content": {
                "application/json": {"schema": ref("CheckResult")}}},
                "409": _STALE, "default": _PROBLEM}}},
    "/brands/{brand_id}/check.csv": {
        "parameters": [_BRAND_ID],
        "post": {
            "summary": "Pre-send check of any number of recipients: a text/csv body "
                       "(recipient in the first column, a header line allowed) streamed in, "
                       "`recipient,verdict,reason` streamed out in the same order",
            "description": RULES + " Headers X-Mirror-As-Of and X-Mirror-Freshness carry "
                           "the freshness. No `live` here: İYS's batch status is for a few "
                           "thousand numbers, not millions.",
            "tags": ["check"],
            "parameters": [
                {"name": "type", "in": "query", "required": True, "schema": _TYPES,
                 "description": "the channel to be used"},
                {"name": "recipient_type", "in": "query", "required": False,
                 "schema": _RECIPIENT_TYPES, "description": "default BIREYSEL"},
                {"name": "strict", "in": "query", "required": False,
                 "schema": {"enum": ["true", "false"]},
                 "description": "true: a stale mirror answers 409"}],
            # binary: any bytes are a CSV body to read line by line (a "string" body would
            # make a number sent as text a schema violation the server cannot see)
            "requestBody": {"required": True, "content": {"text/csv": {
                "schema": {"type": "string", "format": "binary"}}}},
            "responses": {"200": {
                "description": "CSV: recipient (E.164, or the input as written when "
                               "invalid), verdict (allowed, blocked, invalid), reason",
                "headers": {"X-Mirror-As-Of": {"schema": STR},
                            "X-Mirror-Freshness": {"schema": {"enum": ["fresh", "stale"]}}},
                "content": {"text/csv": {"schema": {"type": "string"}}}},
                "409": _STALE, "default": _PROBLEM}}},
}

SCHEMAS: dict[str, Any] = {
    "CheckRequest": {
        "type": "object", "additionalProperties": False,
        "required": ["type", "recipients"],
        "properties": {
            "type": _TYPES,
            "recipient_type": {**_RECIPIENT_TYPES, "default": "BIREYSEL"},
            "recipients": {"type": "array", "minItems": 1,
                           "maxItems": CheckSettings().max_recipients,
                           "items": {"type": "string", "maxLength": MAX_INPUT_LENGTH,
                                     **NO_NUL}},
            "strict": {**BOOL, "default": False},
            "live": {**BOOL, "default": False}}},
    "CheckFreshness": obj({"verdict": {"enum": ["fresh", "stale"]}, "as_of": NSTR,
                           "age_seconds": {"type": ["number", "null"]},
                           "max_age_seconds": {"type": "number"}, "push_registered": BOOL}),
    "CheckResult": obj({
        "brand_id": STR, "type": _TYPES, "recipient_type": _RECIPIENT_TYPES, "as_of": NSTR,
        "freshness": ref("CheckFreshness"),
        "counts": obj({"allowed": INT, "blocked": INT, "invalid": INT}),
        "allowed": {"type": "array", "items": STR},
        "blocked": {"type": "array", "items": obj({"recipient": STR,
                                                   "why": {"enum": list(BLOCK_REASONS)}})},
        "invalid": {"type": "array", "items": obj({"recipient": STR,
                                                   "reason": {"enum": list(INVALID_REASONS)}})},
        "live": obj({"outcome": {"enum": ["ok", "budget", "not_configured", "error"]},
                     "requests": INT, "asked": INT, "onay": INT, "not_asked": INT,
                     "detail": NSTR})},
        required=["brand_id", "type", "recipient_type", "as_of", "freshness", "counts",
                  "allowed", "blocked", "invalid"]),
}

"""The OpenAPI entries of consent links (issue #30), merged into the document by
``inbound.api.openapi`` with one line."""

from __future__ import annotations

from typing import Any

from inbound.api.openapi_schemas import INT, NSTR, NTIME, STR, TIME, anchored, obj, ref, text

_PROBLEM = {"description": "an error (see the description above)",
            "content": {"application/problem+json": {"schema": ref("Problem")}}}
_BRAND_ID = {"name": "brand_id", "in": "path", "required": True,
             "schema": {"type": "string", "maxLength": 63}, "example": "acme"}
_LINK_ID = {"name": "link_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": anchored("[0-9]{1,18}")}, "example": "1"}
_ACTION = {"enum": ["RET", "ONAY", "choice"]}
_TYPES = {"type": "array", "items": {"enum": ["MESAJ", "ARAMA"]}, "minItems": 1,
          "maxItems": 2, "uniqueItems": True}
_EXPIRES = {"type": "string", "format": "date-time", "maxLength": 40}

SCHEMAS: dict[str, Any] = {
    "LinkInput": obj({
        "recipient": {**text(40), "description": "a Turkish mobile number; leave it out for "
                      "a brand-wide link (the page asks for the number and sends a code)"},
        "action": {**_ACTION, "description": "RET (default): opt out. ONAY and choice only "
                   "in messages the brand may lawfully send"},
        "types": {**_TYPES, "description": "default [MESAJ]"},
        "expires_at": {**_EXPIRES, "description": "RFC 3339, in the future; none: never"},
    }, []),
    "LinkCreated": obj({"id": INT, "url": STR, "code": STR, "recipient": NSTR,
                        "action": _ACTION, "types": _TYPES, "expires_at": NTIME}),
    "Link": obj({"id": INT, "recipient": NSTR, "action": _ACTION, "types": _TYPES,
                 "expires_at": NTIME, "created_by": STR, "created_at": TIME,
                 "revoked_at": NTIME, "confirmed_at": NTIME,
                 "submission_id": {"type": ["integer", "null"]}}),
}

_BULK_QUERY = [
    {"name": "action", "in": "query", "required": False, "schema": _ACTION,
     "description": "RET (default), ONAY or choice"},
    {"name": "types", "in": "query", "required": False,
     "schema": {"enum": ["MESAJ", "ARAMA", "MESAJ,ARAMA", "ARAMA,MESAJ"]},
     "description": "comma-separated, default MESAJ"},
    {"name": "expires_at", "in": "query", "required": False, "schema": _EXPIRES,
     "description": "RFC 3339, in the future"},
]

PATHS: dict[str, Any] = {
    "/brands/{brand_id}/links": {
        "parameters": [_BRAND_ID],
        "post": {"summary": "Mint a consent link: {url, code}. The code (11 base62 "
                 "characters, ≥ 64 random bits) is shown only here; only its SHA-256 is "
                 "stored. Opening the page records nothing; its button records a consent "
                 "(source HS_WEB) pushed to İYS like any other",
                 "tags": ["links"],
                 "requestBody": {"required": True, "content": {
                     "application/json": {"schema": ref("LinkInput")}}},
                 "responses": {"201": {"description": "created", "content": {
                     "application/json": {"schema": ref("LinkCreated")}}},
                     "default": _PROBLEM}}},
    "/brands/{brand_id}/links.csv": {
        "parameters": [_BRAND_ID],
        "post": {"summary": "Mint one personal link per recipient of a CSV (one column, or "
                 "the column headed recipient; up to 1,000,000); streams back "
                 "recipient,url. Every line is checked first: 422 naming the bad lines, "
                 "and no link made",
                 "tags": ["links"], "parameters": _BULK_QUERY,
                 "requestBody": {"required": True, "content": {  # any bytes: read as CSV
                     "text/csv": {"schema": {"type": "string", "format": "binary"}}}},
                 "responses": {"200": {"description": "CSV with a header row", "content": {
                     "text/csv": {"schema": {"type": "string"}}}},
                     "default": _PROBLEM}}},
    "/brands/{brand_id}/links/{link_id}": {
        "parameters": [_BRAND_ID, _LINK_ID],
        "get": {"summary": "One link (never its code)", "tags": ["links"],
                "responses": {"200": {"description": "OK", "content": {
                    "application/json": {"schema": ref("Link")}}}, "default": _PROBLEM}},
        "delete": {"summary": "Revoke a link: its page answers as for an unknown code",
                   "tags": ["links"],
                   "responses": {"204": {"description": "done"}, "default": _PROBLEM}}},
}

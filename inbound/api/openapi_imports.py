"""The OpenAPI paths and schemas of bulk upload (issue #31), merged into the document."""

from __future__ import annotations

from typing import Any

from inbound.api.openapi_schemas import INT, NSTR, NTIME, STR, TIME, anchored, obj, ref, text

_PROBLEM = {"description": "an error (see the description above)",
            "content": {"application/problem+json": {"schema": ref("Problem")}}}
_BRAND_ID = {"name": "brand_id", "in": "path", "required": True,
             "schema": {"type": "string", "maxLength": 63}, "example": "acme"}
_IMPORT_ID = {"name": "import_id", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": anchored("[0-9]{1,18}")}, "example": "1"}
_FILE = {"type": "string", "format": "binary"}
UPLOAD_DESCRIPTION = (
    "The body is the file itself, streamed (at most 512 MiB): CSV in UTF-8 (with or without "
    "BOM, `;` or `,`) or XLSX (the first sheet). Columns by header, Turkish or English: "
    "alıcı/recipient, tür/type, durum/status, kaynak/source, alıcı tipi/recipient_type, "
    "izin tarihi/consent_date (`03.12.2026 14:05` or ISO; Turkey time without a zone). "
    "Every row is checked with the rules of POST …/consents; rows older than three business "
    "days are refused here (H467), never sent. 422 when the file cannot be read at all "
    "(not UTF-8, a required column missing). 202: the rows are being checked and stored; "
    "follow GET …/imports/{import_id}.")


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": ref(schema)}}}


IMPORT_PATHS: dict[str, Any] = {
    "/brands/{brand_id}/imports": {
        "parameters": [_BRAND_ID],
        "post": {
            "summary": "Upload a file of consents (CSV or XLSX) to be checked and pushed",
            "description": UPLOAD_DESCRIPTION, "tags": ["consents"],
            "parameters": [{"name": "filename", "in": "query", "required": False,
                            "schema": text(200), "description": "the file's name, kept"},
                           {"name": "state_only", "in": "query", "required": False,
                            "schema": {"type": "boolean"},
                            "description": "true: record the rows in the İYS mirror only "
                            "(origin seed, a brand's existing consents, any date), never "
                            "push them"}],
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": _FILE},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                    {"schema": _FILE},
                "application/octet-stream": {"schema": _FILE}}},
            "responses": {"202": _json("ImportStarted", "accepted"), "default": _PROBLEM}},
    },
    "/brands/{brand_id}/imports/{import_id}": {
        "parameters": [_BRAND_ID, _IMPORT_ID],
        "get": {"summary": "An import's state, counts and progress", "tags": ["consents"],
                "responses": {"200": _json("Import"), "default": _PROBLEM}},
    },
    "/brands/{brand_id}/imports/{import_id}/rows.csv": {
        "parameters": [_BRAND_ID, _IMPORT_ID],
        "get": {"summary": "The file back, each row with its result (result, transaction_id, "
                           "detail)", "tags": ["consents"],
                "responses": {"200": {"description": "CSV (UTF-8 with BOM)",
                                      "content": {"text/csv": {"schema": STR}}},
                              "default": _PROBLEM}},
    },
    "/brands/{brand_id}/imports/{import_id}/cancel": {
        "parameters": [_BRAND_ID, _IMPORT_ID],
        "post": {"summary": "Cancel an import: the rows not sent yet are not sent",
                 "tags": ["consents"],
                 "responses": {"200": _json("Import"), "default": _PROBLEM}},
    },
}

_COUNTS = obj({
    "read": INT, "valid": INT, "refused": INT,
    "refused_by_reason": {"type": "object", "additionalProperties": INT,
                          "description": "İYS's code (or the field at fault) → rows"},
    "duplicate": INT, "unchanged": INT, "pushed": INT, "waiting": INT, "in_flight": INT,
    "accepted": INT, "failed": INT, "not_needed": INT, "superseded": INT, "cancelled": INT,
})
IMPORT_SCHEMAS: dict[str, Any] = {
    "ImportStarted": obj({"id": INT, "state": STR, "url": STR}),
    "Import": obj({
        "id": INT, "brand": STR,
        "state": {"enum": ["storing", "pushing", "finished", "cancelled", "failed"]},
        "filename": NSTR, "format": {"enum": ["csv", "xlsx"]},
        "via": {"enum": ["api", "web", "cli"]}, "error": NSTR, "created_at": TIME,
        "state_only": {"type": "boolean", "description": "recorded in the mirror only, never "
                       "pushed (state_only=true at upload)"},
        "stored_at": NTIME, "cancelled_at": NTIME, "finished_at": NTIME, "counts": _COUNTS,
        "progress": {"type": "number", "minimum": 0, "maximum": 1,
                     "description": "share of the valid rows settled in İYS"},
    }),
}

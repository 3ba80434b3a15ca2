"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

A test compares its paths with the routes the application registers, and schemathesis
checks real answers against it, so it cannot drift from the code silently.
"""

from __future__ import annotations

from typing import Any

from inbound.api import (
    openapi_check,
    openapi_links,
    openapi_mirror,
    openapi_notices,
    openapi_webhooks,
)
from inbound.api.csv_excel import openapi_parameters
from inbound.api.inputs import DATE_TIME_PATTERN, END
from inbound.api.openapi_imports import IMPORT_PATHS, IMPORT_SCHEMAS
from inbound.api.openapi_schemas import NO_NUL, SCHEMAS, anchored, ref, text

DESCRIPTION = """\
The brand-owner API of iys-inbound: configure keywords, see and prove what happened to each
recipient's SMS.

**Authentication.** Every operation except this document needs `Authorization: Bearer
<token>`. Tokens (`iysk_…`) are shown once when created and stored only as SHA-256 digests.
The operator's admin token manages owners, numbers and other owners' tokens; an owner's token
sees only that owner's brands.

**Errors** are `application/problem+json` (RFC 9457) with `title`, `detail` and, when a field
is at fault, `errors: [{field, reason}]`. 401: no or unknown token. 403: the operation is the
operator's (admin only). 404: does not exist **or belongs to another owner** — an owner's
token cannot tell another owner's brand, number, token or event from one that does not exist.
(Brand ids are one namespace, so creating a brand whose id is taken answers 409 "not
available", without saying by whom.) 409: the change conflicts with the keyword rules (every
conflict is listed; another owner's brand is never named) or with existing data. 413: body
too large (64 KiB; 1 MiB for the rules file). 415: wrong content type. 422: invalid input.

**Pagination.** Lists of events, messages and audit entries are newest first; pass the
`next_cursor` of a page as `cursor` to get the next one (`null`: no more).
"""

_PROBLEM = {"description": "an error (see the description above)",
            "content": {"application/problem+json": {"schema": ref("Problem")}}}


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}


def _op(summary: str, ok: dict[str, Any], *, status: str = "200", body: str | None = None,
        parameters: list[dict[str, Any]] | None = None, tag: str) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag],
                          "responses": {status: ok, "default": _PROBLEM}}
    if body is not None:
        op["requestBody"] = _body(body)
    if parameters:
        op["parameters"] = parameters
    return op


def _path_param(name: str, schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema, "example": example}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_DELETED = {"description": "done"}
BRAND_ID = _path_param("brand_id", {"type": "string", "maxLength": 63}, "acme")
MSISDN = _path_param("msisdn", {"type": "string", "maxLength": 15}, "4609")
OWNER_ID = _path_param("owner_id", {"type": "string", "pattern": anchored("[0-9]{1,18}")}, "1")
TOKEN_ID = _path_param("token_id", {"type": "string", "pattern": anchored("[0-9]{1,18}")}, "1")
EVENT_ID = _path_param("event_id", {"type": "string", "pattern": anchored("[0-9]{1,18}")}, "1")
_E164 = {"type": "string", "pattern": anchored(r"\+?[1-9][0-9]{6,14}")}
_EMAIL = {"type": "string", "minLength": 6, "maxLength": 265, "pattern": anchored(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")}
RECIPIENT = _path_param("recipient", {"anyOf": [_E164, _EMAIL]}, "+905321234567")
CURSOR = _query("cursor", {"type": "string", "pattern": f"^([0-9]{{1,18}})?{END}"},
                "next_cursor of the previous page (empty: the first page)")
PAGING = [_query("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
                 "page size (default 100), in ASCII digits"), CURSOR]
_DATE_TIME = {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}
TIME_RANGE = [_query("since", _DATE_TIME, "received at or after (RFC 3339 with a zone, years "
                     "1900 to 9998)"),
              _query("until", _DATE_TIME, "received before")]
EVENT_FILTERS = [
    _query("recipient", _E164, "E.164 recipient"),
    _query("status", {"enum": ["ONAY", "RET"]}, "consent status"),
    _query("state", {"enum": ["pending", "accepted", "not_needed", "superseded", "duplicate",
                              "failed", "review", "dismissed"]}, "İYS state"),
    _query("type", {"enum": ["MESAJ", "ARAMA", "EPOSTA"]}, "channel"),
    *TIME_RANGE,
]
MESSAGE_FILTERS = [
    _query("recipient", _E164, "E.164 sender of the message"),
    _query("outcome", {"enum": ["consent", "needs_review", "ambiguous", "unknown_brand",
                                "no_keyword", "not_text", "unknown_number", "invalid_sender",
                                "incomplete"]},
           "what the message meant"),
    *TIME_RANGE,
]


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "pattern": anchored("[\\x21-\\x7e]{1,200}")},
    "description": "makes a retry safe: the same key with the same request returns the "
                   "first answer (header Idempotent-Replayed: true); with another request, "
                   "409. Kept per owner."}
CONSENT_STATE_QUERY = [
    {"name": "recipient", "in": "query", "required": True,
     "schema": text(300),
     "description": "an e-mail address or a Turkish phone number in any common form"},
    _query("type", {"enum": ["MESAJ", "ARAMA", "EPOSTA"]}, "only this type"),
    _query("recipient_type", {"enum": ["BIREYSEL", "TACIR"]}, "only this recipient type"),
    _query("refresh", {"enum": ["true", "false"]},
           "true: ask İYS's status endpoint first (one call per key; 1,000 an hour shared "
           "by every process, some kept for the pusher: beyond it 429 with Retry-After)"),
]
_TOO_MANY = {"description": "the refresh budget is used up",
             "headers": {"Retry-After": {"schema": {"type": "string"},
                                         "description": "seconds until there is room"}},
             "content": {"application/problem+json": {"schema": ref("Problem")}}}
CONSENTS_DESCRIPTION = (
    "Refusals (422, each in errors[] with field such as consents[3].consent_date and "
    "İYS's code): recipient not fitting the type (H121/H120/H464), unknown field (H118), "
    "type/status/source/recipient_type outside their lists (H117/H115/H119/H116), "
    "HS_KARAR with ONAY (H408), HS_2015 (H155: its fixed date is always older than three "
    "business days), consent_date missing (H112), malformed (H158), before 2015-05-01 "
    "(H156), in the future (H162) or older than three business days (H467). 409: HS_KARAR "
    "as the first movement known of its key, or an Idempotency-Key reused with another "
    "request. TACIR: consent_date and source are always required (İYS needs both on every "
    "TACIR update, H462/H463, and whether a consent is the first is İYS's to know).")


def _settings_paths(section: str, schema: str) -> dict[str, Any]:
    return {
        "parameters": [BRAND_ID],
        "get": _op(f"The brand's {section}", _json(schema), tag="configuration"),
        "put": _op(f"Replace the brand's {section}", _json(schema), body=schema,
                   tag="configuration"),
        "delete": _op(f"Back to the default {section}", _DELETED, status="204",
                      tag="configuration"),
    }


PATHS: dict[str, Any] = {
    "/openapi.json": {"get": {"summary": "This document", "security": [], "tags": ["meta"],
                              "responses": {"200": {"description": "OpenAPI 3.1",
                                                    "content": {"application/json": {}}}}}},
    "/me": {"get": _op("Who the token belongs to", _json("Me"), tag="accounts")},
    "/owners": {
        "get": _op("Brand owners (operator)", _json("OwnerList"), tag="accounts"),
        "post": _op("Create a brand owner (operator)", _json("Owner", "created"),
                    status="201", body="OwnerInput", tag="accounts"),
    },
    "/owners/{owner_id}": {
        "parameters": [OWNER_ID],
        "get": _op("One owner (operator)", _json("Owner"), tag="accounts"),
        "delete": _op("Delete an owner and its tokens; its brands stay, unassigned",
                      _DELETED, status="204", tag="accounts"),
    },
    "/tokens": {
        "get": _op("Tokens (an owner: its own)", _json("TokenList"), tag="accounts"),
        "post": _op("Create a token; the answer is the only time it is shown",
                    _json("TokenCreated", "created"), status="201", body="TokenInput",
                    tag="accounts"),
    },
    "/tokens/{token_id}": {
        "parameters": [TOKEN_ID],
        "get": _op("One token's metadata", _json("Token"), tag="accounts"),
        "delete": _op("Revoke a token", _DELETED, status="204", tag="accounts"),
    },
    "/brands": {
        "get": _op("The caller's brands", _json("BrandList"), tag="configuration"),
        "post": _op("Create a brand", _json("Brand", "created"), status="201",
                    body="BrandInput", tag="configuration"),
    },
    "/brands/{brand_id}": {
        "parameters": [BRAND_ID],
        "get": _op("One brand", _json("Brand"), tag="configuration"),
        "patch": _op("Change a brand (only the fields given)", _json("Brand"),
                     body="BrandPatch", tag="configuration"),
        "delete": _op("Delete a brand without consent events", _DELETED, status="204",
                      tag="configuration"),
    },
    "/brands/{brand_id}/vocabulary": _settings_paths("vocabulary", "Vocabulary"),
    "/brands/{brand_id}/replies": _settings_paths("reply templates", "Replies"),
    "/numbers": {
        "get": _op("Numbers serving the caller's brands", _json("NumberList"),
                   tag="configuration"),
        "post": _op("Add a number (operator)", _json("Number", "created"), status="201",
                    body="NumberInput", tag="configuration"),
    },
    "/numbers/{msisdn}": {
        "parameters": [MSISDN],
        "get": _op("One number", _json("Number"), tag="configuration"),
        "patch": _op("Change a number (operator)", _json("Number"), body="NumberPatch",
                     tag="configuration"),
        "delete": _op("Remove a number (operator)", _DELETED, status="204",
                      tag="configuration"),
    },
    "/rules": {
        "get": _op("Export the rules file (an owner: its brands and their numbers)",
                   {"description": "the rules", "content": {
                       "application/json": {"schema": ref("Rules")},
                       "application/toml": {"schema": {"type": "string"}}}},
                   parameters=[_query("format", {"enum": ["json", "toml"]}, "default json")],
                   tag="configuration"),
        "put": {**_op("Import the rules file, validated as a whole (an owner: its brands)",
                      _json("Rules"), tag="configuration"),
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": ref("Rules")},
                    "application/toml": {"schema": ref("Rules")}}}},
    },
    "/audit": {"get": _op(
        "Configuration changes: who, when, before, after", _json("AuditPage"),
        parameters=[*PAGING,
                    _query("resource", {"enum": ["brand", "number", "owner", "token", "rules",
                                                 "review", "reconciliation"]},
                           "kind of resource"),
                    _query("resource_id", {"type": "string", "maxLength": 200, **NO_NUL},
                           "one resource")],
        tag="configuration")},
    "/brands/{brand_id}/messages": {
        "parameters": [BRAND_ID],
        "get": _op("The brand's messages, newest first", _json("MessagePage"),
                   parameters=[*PAGING, *MESSAGE_FILTERS], tag="events")},
    "/brands/{brand_id}/events": {
        "parameters": [BRAND_ID],
        "get": _op("The brand's consent events, newest first", _json("EventPage"),
                   parameters=[*PAGING, *EVENT_FILTERS], tag="events")},
    "/brands/{brand_id}/events.csv": {
        "parameters": [BRAND_ID],
        "get": _op("All matching events as CSV (streamed, oldest first)",
                   {"description": "CSV with a header row",
                    "content": {"text/csv": {"schema": {"type": "string"}}}},
                   parameters=[{**CURSOR, "description": "start after this event"},
                               *EVENT_FILTERS, *openapi_parameters()], tag="events")},
    "/brands/{brand_id}/recipients/{recipient}": {
        "parameters": [BRAND_ID, RECIPIENT],
        "get": _op("One recipient's full history: raw messages, decoded text, events, every "
                   "İYS attempt and transaction id", _json("History"), tag="events")},
    "/brands/{brand_id}/reviews": {
        "parameters": [BRAND_ID],
        "get": _op("Near misses waiting for the owner (possible opt-outs), oldest first: the "
                   "message, the recipient, the deadline a RET received then has and the time "
                   "left; unreviewed at 90 % of the window an item becomes its RET by itself "
                   "unless the brand's review_auto_ret is false", _json("ReviewPage"),
                   parameters=PAGING, tag="reviews")},
    "/brands/{brand_id}/reviews/{event_id}/confirm": {
        "parameters": [BRAND_ID, EVENT_ID],
        "post": _op("Confirm a review item: it becomes the RET (sent to İYS, consent date the "
                    "original receipt time); audited. 409 if it was already decided",
                    _json("ReviewItem"), tag="reviews")},
    "/brands/{brand_id}/reviews/{event_id}/dismiss": {
        "parameters": [BRAND_ID, EVENT_ID],
        "post": _op("Dismiss a review item: nothing goes to İYS; audited. 409 if it was "
                    "already decided", _json("ReviewItem"), tag="reviews")},
    "/brands/{brand_id}/consents": {
        "parameters": [BRAND_ID],
        "post": {**_op(
            "Record consents the brand collected itself (web form, app, call centre, wet "
            "signature, e-mail …): one, or up to 1,000. Each is checked as İYS would check "
            "it before anything is stored (422 naming the item and field, with İYS's code); "
            "all are stored or none. They are pushed to İYS like SMS consents, in order per "
            "key by consent date, within three business days of it",
            _json("ConsentRecorded", "recorded: each consent's events, pending"),
            status="202", body="ConsentRequest", parameters=[IDEMPOTENCY_KEY],
            tag="consents"), "description": CONSENTS_DESCRIPTION},
        "get": {**_op(
            "A recipient's consent state per type and recipient type: the last movement "
            "İYS holds as known here, its date, source and transaction id, the events still "
            "pending, as_of; refresh=true asks İYS first",
            _json("ConsentState"), parameters=CONSENT_STATE_QUERY, tag="consents"),
            "responses": {"200": _json("ConsentState"), "429": _TOO_MANY,
                          "default": _PROBLEM}}},
    "/explain": {"post": _op(
        "What would this text do on this number (as `iys-inbound explain`); for an owner, "
        "another owner's brand is not named (outcome `other_brand`)", _json("Explanation"),
        body="ExplainInput", tag="events")},
}
# each feature's paths and schemas live in its own module
for _feature in (openapi_links, openapi_check, openapi_mirror, openapi_webhooks,
                 openapi_notices):
    PATHS.update(_feature.PATHS)
    SCHEMAS.update(_feature.SCHEMAS)


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "iys-inbound brand-owner API", "version": "1",
                 "description": DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": PATHS | IMPORT_PATHS,
        "components": {
            "schemas": SCHEMAS | IMPORT_SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "an iysk_… API token"}},
        },
    }

"""The OpenAPI entries of ``/webhooks`` (issue #32), merged into openapi.py's PATHS and
SCHEMAS with one line each."""

from __future__ import annotations

from typing import Any

from inbound.api.inputs import DATE_TIME_PATTERN, END
from inbound.api.openapi_schemas import (
    BRAND_ID,
    ID,
    INT,
    NINT,
    NSTR,
    NTIME,
    STR,
    TIME,
    anchored,
    obj,
    ref,
    text,
)
from inbound.webhooks import KINDS
from inbound.webhooks.endpoints import DESCRIPTION_MAX, MAX_OVERLAP_HOURS, URL_MAX

DESCRIPTION = """\
Signed webhooks to the owner's CRM ([Standard Webhooks](https://www.standardwebhooks.com/)):
each delivery is a POST of `{type, timestamp, data}` with headers `webhook-id` (the same for
every retry and replay), `webhook-timestamp` and `webhook-signature` (`v1,` + base64
HMAC-SHA256 of `id.timestamp.body` with the base64-decoded part of the secret after
`whsec_`; two signatures during a rotation's overlap). Kinds: `consent.received`,
`consent.settled`, `iys.changed`, `review.needed`, `import.finished`. `data` uses the API's
field names plus `id`, `brand` and `sequence` (per brand, from 1). 2xx is success; anything
else is retried with exponential backoff for three days; an endpoint whose every delivery
failed for a day is paused until its owner resumes it. HTTPS only; private, loopback and
link-local targets are refused unless the operator allows them."""

_PROBLEM = {"description": "an error",
            "content": {"application/problem+json": {"schema": ref("Problem")}}}
WEBHOOK_ID = {"name": "webhook_id", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": anchored("[0-9]{1,18}")}, "example": "1"}
_KIND = {"enum": list(KINDS)}
_EVENTS = {"type": "array", "items": _KIND, "minItems": 1, "uniqueItems": True}
_BRANDS = {"type": ["array", "null"], "items": BRAND_ID, "maxItems": 1000}


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def _op(summary: str, ok: dict[str, Any], *, status: str = "200", body: str | None = None,
        body_required: bool = True, parameters: list[dict[str, Any]] | None = None
        ) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": ["webhooks"],
                          "responses": {status: ok, "default": _PROBLEM}}
    if body is not None:
        op["requestBody"] = {"required": body_required,
                             "content": {"application/json": {"schema": ref(body)}}}
    if parameters:
        op["parameters"] = parameters
    return op


_WEBHOOK = {
    "id": INT, "owner_id": INT, "url": STR, "events": {"type": "array", "items": _KIND},
    "brands": {"type": ["array", "null"], "items": STR},
    "recipient": {"enum": ["masked", "full"]}, "description": STR,
    "paused_at": NTIME, "failing_since": NTIME, "previous_secret_until": NTIME,
    "created_at": TIME, "updated_at": TIME,
}
_SECRET = {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/=]{32}$"}

SCHEMAS: dict[str, Any] = {
    "WebhookInput": obj({
        "url": {"type": "string", "minLength": 8, "maxLength": URL_MAX,
                "pattern": "^https?://[^\\s]+$"},
        "events": _EVENTS,
        "brands": _BRANDS,
        "recipient": {"enum": ["masked", "full"]},
        "description": text(DESCRIPTION_MAX, empty=True),
        "owner_id": ID,
    }, ["url", "events"]),
    "Webhook": obj(_WEBHOOK),
    "WebhookCreated": obj({**_WEBHOOK, "secret": _SECRET}),
    "WebhookList": obj({"items": {"type": "array", "items": ref("Webhook")}}),
    "WebhookRotate": obj({"overlap_hours": {"type": "integer", "minimum": 0,
                                            "maximum": MAX_OVERLAP_HOURS}}, []),
    "WebhookReplay": obj({"since": {"type": "string", "format": "date-time",
                                    "pattern": DATE_TIME_PATTERN}}),
    "WebhookReplayed": obj({"replayed": INT}),
    "WebhookAttempt": obj({
        "id": INT, "event_id": INT, "type": NSTR, "brand": NSTR, "sequence": NINT,
        "at": TIME, "latency_ms": {"type": "number"}, "http_status": NINT,
        "outcome": {"enum": ["delivered", "http_error", "timeout", "refused", "error"]},
        "error": NSTR}),
    "WebhookAttemptPage": obj({"items": {"type": "array", "items": ref("WebhookAttempt")},
                               "next_cursor": NSTR}),
}

_PAGING = [
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 1000}, "description": "page size"},
    {"name": "cursor", "in": "query", "required": False,
     "schema": {"type": "string", "pattern": f"^([0-9]{{1,18}})?{END}"},
     "description": "next_cursor of the previous page"},
]

PATHS: dict[str, Any] = {
    "/webhooks": {
        "get": _op("The caller's webhook endpoints (the operator: all)", _json("WebhookList")),
        "post": {**_op("Add an endpoint; the answer is the only time its secret is shown",
                       _json("WebhookCreated", "created"), status="201",
                       body="WebhookInput"), "description": DESCRIPTION},
    },
    "/webhooks/{webhook_id}": {
        "parameters": [WEBHOOK_ID],
        "get": _op("One endpoint (never its secret)", _json("Webhook")),
        "delete": _op("Remove an endpoint and its deliveries", {"description": "done"},
                      status="204"),
    },
    "/webhooks/{webhook_id}/rotate": {
        "parameters": [WEBHOOK_ID],
        "post": _op("A new secret (shown once); the previous one keeps signing beside it for "
                    "overlap_hours (default 24)", _json("WebhookCreated"),
                    body="WebhookRotate", body_required=False)},
    "/webhooks/{webhook_id}/resume": {
        "parameters": [WEBHOOK_ID],
        "post": _op("Resume a paused endpoint: its kept deliveries are sent now",
                    _json("Webhook"))},
    "/webhooks/{webhook_id}/replay": {
        "parameters": [WEBHOOK_ID],
        "post": _op("Deliver again every event since a moment (same webhook-id)",
                    _json("WebhookReplayed"), body="WebhookReplay")},
    "/webhooks/{webhook_id}/deliveries": {
        "parameters": [WEBHOOK_ID],
        "get": _op("The delivery log, newest first: each attempt's status, outcome, latency",
                   _json("WebhookAttemptPage"), parameters=_PAGING)},
}

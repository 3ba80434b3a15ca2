"""The OpenAPI entries of ``/notices`` (e-mail notice subscriptions, issue #32 item 6),
merged into openapi.py's PATHS and SCHEMAS with the other features."""

from __future__ import annotations

from typing import Any

from inbound.api.openapi_schemas import BOOL, ID, INT, SAFE, TIME, anchored, obj, ref
from inbound.api.routes_notices import EMAIL_MAX
from inbound.notices import EMAIL_PATTERN, KINDS

DESCRIPTION = """\
E-mail notices for people without a CRM: a daily digest of the owner's brands and immediate
notices (`ret_deadline`: a RET within 24 h of its deadline and not in İYS yet; `review`: a
near miss waiting; `failed`: an event İYS refused; `drift`: the reconciliation changed the
mirror). Numbers are masked in the mails. One subscription per owner and address: posting
the same address again changes its choices (200) instead of adding one (201). Subscribing
and removing need the role admin."""

_PROBLEM = {"description": "an error",
            "content": {"application/problem+json": {"schema": ref("Problem")}}}
SUBSCRIPTION_ID = {"name": "subscription_id", "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": anchored("[0-9]{1,18}")},
                   "example": "1"}
_KINDS = {"type": "array", "items": {"enum": list(KINDS)}, "uniqueItems": True,
          "maxItems": len(KINDS)}
_EMAIL = {"type": "string", "maxLength": EMAIL_MAX, "pattern": EMAIL_PATTERN, **SAFE}


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "tags": ["notices"],
            "responses": {**responses, "default": _PROBLEM}, **extra}


SCHEMAS: dict[str, Any] = {
    "NoticeInput": obj({"email": _EMAIL, "digest": BOOL, "immediate": _KINDS,
                        "owner_id": ID}, ["email"]),
    "Notice": obj({"id": INT, "owner_id": INT, "email": {"type": "string"}, "digest": BOOL,
                   "immediate": {"type": "array", "items": {"enum": list(KINDS)}},
                   "created_at": TIME}),
    "NoticeList": obj({"items": {"type": "array", "items": ref("Notice")}}),
}

PATHS: dict[str, Any] = {
    "/notices": {
        "get": _op("The caller's e-mail notice subscriptions (the operator: all)",
                   {"200": _json("NoticeList")}),
        "post": _op("Subscribe an address (the operator names the owner)",
                    {"201": _json("Notice", "subscribed"),
                     "200": _json("Notice", "the address's choices changed")},
                    requestBody={"required": True, "content": {
                        "application/json": {"schema": ref("NoticeInput")}}},
                    description=DESCRIPTION),
    },
    "/notices/{subscription_id}": {
        "parameters": [SUBSCRIPTION_ID],
        "get": _op("One subscription", {"200": _json("Notice")}),
        "delete": _op("Remove a subscription (its sent marks go with it)",
                      {"204": {"description": "done"}}),
    },
}

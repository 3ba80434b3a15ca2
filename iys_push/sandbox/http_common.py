"""What every sandbox handler shares: the state key, error bodies, auth and scope (§1.2, §4)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from iys_push.sandbox.rules import Movement, error
from iys_push.sandbox.state import Account, SandboxState
from iys_push.timefmt import format_iys

SANDBOX_STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state")


def errors(status: int, *items: dict[str, Any]) -> web.Response:
    """İYS's error envelope: ``{"errors": [{code, message, location?, value?, index?}]}``."""
    return web.json_response({"errors": list(items)}, status=status)


def oauth_error(description: str, kind: str = "invalid_request") -> web.Response:
    """/oauth2/token's own OAuth2-style 400 shape (§1.3)."""
    return web.json_response({"error": kind, "error_description": description}, status=400)


def movement_body(m: Movement) -> dict[str, Any]:
    return {"transactionId": m.transaction_id, "creationDate": format_iys(m.creation_date)}


def authorise(request: web.Request) -> tuple[Account, int] | web.Response:
    """Bearer token (401 H351), integer path codes (422 H190/H191), then scope (403 H353)."""
    state = request.app[SANDBOX_STATE]
    header = request.headers.get("Authorization", "")
    account = state.account_for(header[7:]) if header.startswith("Bearer ") else None
    if account is None:
        return errors(401, error("H351"))
    raw_iys, raw_brand = request.match_info["iys"], request.match_info["brand"]
    if not raw_iys.isdigit():
        return errors(422, error("H190", "iysCode", raw_iys))
    if not raw_brand.isdigit():
        return errors(422, error("H191", "brandCode", raw_brand))
    if int(raw_iys) != account.iys_code or int(raw_brand) not in account.brand_codes:
        return errors(403, error("H353"))
    return account, int(raw_brand)


_NOT_JSON = object()


async def json_body(request: web.Request) -> Any:
    """The parsed body, or the ``_NOT_JSON`` sentinel (an empty body is not JSON either)."""
    try:
        return json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _NOT_JSON


async def authorised_body(request: web.Request) -> tuple[int, Any] | web.Response:
    """Auth, scope and JSON parsing, in İYS's order (IYS_API.md §4); → (brandCode, body)."""
    auth = authorise(request)
    if isinstance(auth, web.Response):
        return auth
    body = await json_body(request)
    if body is _NOT_JSON:
        return errors(400, error("H014"))
    return auth[1], body

"""``POST /oauth2/token``: password and refresh grants, rotation, hourly H084 (IYS_API.md §1.3)."""

from __future__ import annotations

import json

from aiohttp import web

from iys_push.sandbox.http_common import SANDBOX_STATE, oauth_error

# Grant types OAuth2 defines but İYS does not offer, versus names nobody defines (§1.3 table).
_UNSUPPORTED_GRANTS = {"client_credentials", "authorization_code", "implicit",
                       "urn:ietf:params:oauth:grant-type:device_code"}
_H084_MESSAGE = "Saatte kabul edilen kimlik doğrulama istek limitine ulaşıldı."


async def token(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    if not state.token_call_allowed(request.remote or "?"):
        # UNCONFIRMED body shape (§1.3): one integrator parses a flat {code, message}, the rest
        # of the API uses the errors[] envelope. We send both, so either parser finds H084.
        item = {"code": "H084", "message": _H084_MESSAGE}
        return web.json_response({**item, "errors": [item]}, status=429)
    try:
        if request.content_type == "application/json":
            body = json.loads(await request.read())
        else:
            body = dict(await request.post())
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return oauth_error("Giriş yöntemi belirtilmemiş.")
    if not isinstance(body, dict):
        return oauth_error("Giriş yöntemi belirtilmemiş.")
    grant = body.get("grant_type")
    if grant is None:
        return oauth_error("Giriş yöntemi belirtilmemiş.")
    if grant == "":
        return oauth_error("Giriş yöntemi boş olamaz.")
    if grant == "password":
        if not body.get("username"):
            return oauth_error("Kullanıcı adı verilmemiş.")
        if not body.get("password"):
            return oauth_error("Şifre verilmemiş.")
        for account in state.config.accounts:
            if (account.username, account.password) == (body["username"], body["password"]):
                return web.json_response(state.issue_tokens(account))
        return oauth_error("Kullanıcı kimlik bilgileri geçersiz.", "invalid_grant")
    if grant == "refresh_token":
        refresh = body.get("refresh_token")
        if not refresh:
            return oauth_error("Yenileme jetonu verilmemiş.")
        old = state.refresh.pop(refresh, None)  # rotation: a refresh token works once
        if old is None or old.expires <= state.clock.now():
            return oauth_error("Yenileme jetonu geçersiz.", "invalid_grant")
        return web.json_response(state.issue_tokens(old.account))
    if grant in _UNSUPPORTED_GRANTS:
        return oauth_error("Desteklenmeyen giriş yöntemi.")
    return oauth_error("Bilinmeyen giriş yöntemi.")

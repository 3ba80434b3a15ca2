"""The İYS sandbox's HTTP side: the contract of IYS_API.md §9, and admin knobs.

The admin endpoints under ``/_sandbox/`` need no authentication: the sandbox is a test and
demo tool that listens on loopback; never expose it.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from iys_push.sandbox.rules import Consent, business_rule, error, is_phone, validate
from iys_push.sandbox.state import Account, Batch, SandboxConfig, SandboxState
from iys_push.timefmt import format_iys, parse_iys

SANDBOX_STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state")
_ERROR_STATUS = {"H103": 500, "H470": 500, "H015": 500, "H192": 503, "H123": 400, "H124": 429}
PREFIXES = ("/sps/", "/v2/sps/")


def errors(status: int, *items: dict[str, Any]) -> web.Response:
    return web.json_response({"errors": list(items)}, status=status)


def oauth_error(description: str, kind: str = "invalid_request") -> web.Response:
    return web.json_response({"error": kind, "error_description": description}, status=400)


@web.middleware
async def faults_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    state = request.app[SANDBOX_STATE]
    if request.path.startswith("/_sandbox/"):
        return await handler(request)
    response = await _faulty(state, request, handler)
    state.requests[f"{request.method} {_route(request)} {response.status}"] += 1
    return response


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else request.path


async def _faulty(state: SandboxState, request: web.Request, handler: Any) -> web.StreamResponse:
    f = state.faults
    if f.latency or f.jitter:
        await asyncio.sleep(f.latency + random.uniform(0, f.jitter))
    now = state.clock.now()
    if f.outage_from and f.outage_until and f.outage_from <= now < f.outage_until:
        return errors(503, error("H192"))
    if f.hang_next > 0:
        f.hang_next -= 1
        await asyncio.sleep(f.hang_seconds)
    if state.over_rate(request.remote or "?"):
        return errors(429, error("H124"))
    if f.next_errors:
        code = f.next_errors.popleft()
        return errors(_ERROR_STATUS.get(code, 500), error(code))
    if f.error_rate and random.random() < f.error_rate:
        return errors(_ERROR_STATUS.get(f.error_code, 500), error(f.error_code))
    return await handler(request)


# -- token ---------------------------------------------------------------------------------
async def token(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    if not state.token_call_allowed(request.remote or "?"):
        # UNCONFIRMED body shape (IYS_API.md §1.3): the errors[] envelope, as elsewhere
        return errors(429, {"code": "H084",
                            "message": "Saatte kabul edilen istek limitine ulaşıldı."})
    try:
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
    except (json.JSONDecodeError, ValueError):
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
    return oauth_error("Desteklenmeyen giriş yöntemi.")


# -- auth and scope ------------------------------------------------------------------------
def _authorise(request: web.Request) -> tuple[Account, int] | web.Response:
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


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.HTTPBadRequest  # sentinel


async def _authorised_body(request: web.Request) -> tuple[int, Any] | web.Response:
    """Auth, scope and JSON parsing, in İYS's order (IYS_API.md §4)."""
    auth = _authorise(request)
    if isinstance(auth, web.Response):
        return auth
    body = await _json(request)
    if body is web.HTTPBadRequest:
        return errors(400, error("H014"))
    return auth[1], body


def _movement_body(m: Any) -> dict[str, Any]:
    return {"transactionId": m.transaction_id, "creationDate": format_iys(m.creation_date)}


# -- consents --------------------------------------------------------------------------------
async def add_consent(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    checked = await _authorised_body(request)
    if isinstance(checked, web.Response):
        return checked
    brand_code, body = checked
    v2 = request.path.startswith("/v2/")
    digest = state.digest(request.path, body)
    if v2 and digest in state.idempotent:
        return web.json_response(state.idempotent[digest])  # identical resend, same answer
    consent, problems = validate(body, state.clock.now())
    if problems:
        return errors(422, *problems)
    assert consent is not None
    rule = business_rule(consent, state.current.get((brand_code, *consent.key_tail)))
    if rule is not None:
        return errors(400 if rule["code"] != "H408" else 422, rule)
    answer = _movement_body(state.record(brand_code, consent))
    if v2:
        state.idempotent[digest] = answer
    return web.json_response(answer)


async def add_batch(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    checked = await _authorised_body(request)
    if isinstance(checked, web.Response):
        return checked
    brand_code, body = checked
    if not isinstance(body, list):
        return errors(400, error("H092"))
    if len(body) > 1000:
        return errors(422, {"code": "H091", "message": "En fazla 1000 izin gönderilebilir."})
    now = state.clock.now()
    problems: list[dict[str, Any]] = []
    consents: list[Consent] = []
    seen: set[tuple[str, str, str]] = set()
    for i, item in enumerate(body):
        consent, errs = validate(item, now, index=i)
        problems += errs
        if consent is not None:
            if consent.key_tail in seen:
                problems.append(error("H194", "recipient", consent.recipient, i))
            seen.add(consent.key_tail)
            consents.append(consent)
    if problems:
        return errors(422, *problems)
    request_id = str(uuid.uuid4())
    items = [(c, str(uuid.uuid4())) for c in consents]
    state.batches[request_id] = Batch(request_id, brand_code, now, items)
    subs = [{**c.raw, "recipientType": c.recipient_type, "subRequestId": sid,
             "creationDate": format_iys(now)} for c, sid in items]
    return web.json_response({"requestId": request_id, "subRequests": subs}, status=202)


def _process_batch(state: SandboxState, batch: Batch) -> list[dict[str, Any]]:
    results = []
    for index, (consent, sub_id) in enumerate(batch.items):
        rule = business_rule(consent, state.current.get((batch.brand_code, *consent.key_tail)))
        if rule is not None:
            results.append({"subRequestId": sub_id, "index": index, "status": "failure",
                            "error": rule})
            continue
        m = state.record(batch.brand_code, consent)
        results.append({"requestId": batch.request_id, "subRequestId": sub_id, "index": index,
                        "status": "success", **_movement_body(m)})
    return results


async def batch_result(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    auth = _authorise(request)
    if isinstance(auth, web.Response):
        return auth
    request_id = request.match_info["request_id"]
    if len(request_id) > 36:
        return errors(422, error("H198", "requestId", request_id))
    if request_id.isalpha():
        return errors(422, error("H199", "requestId", request_id))
    if request_id.isdigit():
        return errors(422, error("H400", "requestId", request_id))
    batch = state.batches.get(request_id)
    if batch is None or batch.submitted < state.clock.now() - timedelta(days=60):
        return web.json_response([])
    if batch.results is None:
        ready = state.clock.now() >= batch.submitted + timedelta(
            seconds=state.config.batch_result_delay)
        if not ready:
            return web.json_response([{"index": i, "status": "enqueue", "subrequestId": sid}
                                      for i, (_, sid) in enumerate(batch.items)])
        batch.results = _process_batch(state, batch)
    return web.json_response(batch.results)


async def consent_status(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    auth = _authorise(request)
    if isinstance(auth, web.Response):
        return auth
    body = await _json(request)
    if not isinstance(body, dict):
        return errors(400, error("H097"))
    key = (auth[1], body.get("recipient", ""), body.get("recipientType", ""), body.get("type", ""))
    m = state.current.get(key)  # type: ignore[arg-type]
    if m is None:
        # UNCONFIRMED (IYS_API.md §2.4): no documented answer for "no consent"; we say 404
        return errors(404, {"code": "H093", "message": "Kayıt bulunamadı."})
    return web.json_response({"consentDate": format_iys(m.consent_date) if m.consent_date
                              else None, "source": m.source, "recipientType": m.recipient_type,
                              "status": m.status, "type": m.type, "recipient": m.recipient,
                              "creationDate": format_iys(m.creation_date),
                              "transactionId": m.transaction_id})


async def batch_status(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    auth = _authorise(request)
    if isinstance(auth, web.Response):
        return auth
    body = await _json(request)
    if not isinstance(body, dict) or "recipients" not in body:
        return errors(422, error("H168", "recipients", None))
    recipients = body["recipients"]
    if not isinstance(recipients, list):
        return errors(422, error("H478", "recipients", recipients))
    if not recipients:
        return errors(422, error("H164", "recipients", recipients))
    if len(recipients) > 1000:
        return errors(422, {"code": "H127", "message": "En fazla 1000 alıcı."})
    rtype, itype = request.match_info["recipient_type"], request.match_info["type"]
    seen: set[str] = set()
    for i, r in enumerate(recipients):
        if r in seen:
            return errors(422, {"code": "H193", "message": "Tekrarlanan alıcı.",
                                "location": ["recipients", i], "value": r})
        seen.add(r)
        if itype in ("MESAJ", "ARAMA") and not is_phone(str(r)):
            return errors(422, error("H464", "recipients", r))
    listed = [r for r in recipients
              if (m := state.current.get((auth[1], r, rtype, itype))) and m.status == "ONAY"]
    return web.json_response({"requestId": str(uuid.uuid4()), "list": listed})


async def changes(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    auth = _authorise(request)
    if isinstance(auth, web.Response):
        return auth
    source = request.query.get("source", "IYS")
    if source not in ("HS", "IYS"):
        return errors(422, {"code": "H506", "message": "source geçersiz."})
    try:
        limit = int(request.query.get("limit", "1000"))
    except ValueError:
        limit = 1001
    if not 0 < limit <= 1000:
        return errors(422, {"code": "H507", "message": "limit alanı için karakter üst sınırı "
                            "1000 olmalıdır."})
    now = state.clock.now()
    lo, hi = now - timedelta(days=7), now - timedelta(hours=1)  # 7 days minus the last hour
    after = request.query.get("after")
    cursor = (0, "")
    if after and "_" in after:
        seconds, _, tx = after.partition("_")
        cursor = (int(seconds) if seconds.isdigit() else 0, tx)
    rows = sorted(
        (m for m in state.movements
         if m.brand_code == auth[1] and m.source.startswith(source + "_")
         and lo <= m.creation_date <= hi
         and (int(m.creation_date.timestamp()), m.transaction_id) > cursor),
        key=lambda m: (m.creation_date, m.transaction_id))[:limit]
    if not rows:
        return web.Response(status=204)
    last = rows[-1]
    return web.json_response({
        "after": f"{int(last.creation_date.timestamp())}_{last.transaction_id}",
        "list": [{"consentDate": format_iys(m.consent_date) if m.consent_date else "",
                  "creationDate": format_iys(m.creation_date), "source": m.source,
                  "recipient": m.recipient, "recipientType": m.recipient_type,
                  "status": m.status, "type": m.type, "transactionId": m.transaction_id}
                 for m in rows]})


# -- admin -----------------------------------------------------------------------------------
async def admin_state(request: web.Request) -> web.Response:
    return web.json_response(request.app[SANDBOX_STATE].summary())


async def admin_clock(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    body = await request.json()
    if "advance" in body:
        state.clock.advance(float(body["advance"]))
    if "set" in body:
        state.clock.set(datetime.fromisoformat(body["set"]) if body["set"] else None)
    return web.json_response({"now": state.clock.now().isoformat()})


async def admin_faults(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    for key, value in (await request.json()).items():
        if key == "next_errors":
            state.faults.next_errors.extend(value)
        elif key in ("outage_from", "outage_until"):
            setattr(state.faults, key, datetime.fromisoformat(value) if value else None)
        elif hasattr(state.faults, key):
            setattr(state.faults, key, type(getattr(state.faults, key))(value))
        else:
            return web.json_response({"error": f"unknown knob {key}"}, status=400)
    return web.json_response(state.faults.to_dict())


async def admin_citizen_change(request: web.Request) -> web.Response:
    """Inject an İYS-side movement (e-Devlet, 3338, app) for the changes feed."""
    state = request.app[SANDBOX_STATE]
    body = await request.json()
    consent = Consent(body["recipient"], body.get("type", "MESAJ"), body["status"],
                      body.get("recipientType", "BIREYSEL"), None,
                      parse_iys(body["consentDate"]) if body.get("consentDate")
                      else state.clock.now(), body)
    m = state.record(int(body["brandCode"]), consent, source=body.get("source", "IYS_KISAMESAJ"))
    return web.json_response(_movement_body(m))


async def admin_seed(request: web.Request) -> web.Response:
    """Record a consent as if sent long ago (no date rules): for demos and tests."""
    state = request.app[SANDBOX_STATE]
    body = await request.json()
    seed_consent_now(state, int(body["brandCode"]), body["recipient"], body.get("status", "ONAY"),
                     body.get("type", "MESAJ"), body.get("recipientType", "BIREYSEL"))
    return web.json_response({"ok": True})


def seed_consent_now(state: SandboxState, brand_code: int, recipient: str, status: str = "ONAY",
                     type_: str = "MESAJ", recipient_type: str = "BIREYSEL") -> None:
    when = state.clock.now() - timedelta(days=30)
    consent = Consent(recipient, type_, status, recipient_type, "HS_WEB", when, {})
    state.record(brand_code, consent)


async def admin_reset(request: web.Request) -> web.Response:
    request.app[SANDBOX_STATE].reset()
    return web.json_response({"ok": True})


def create_app(config: SandboxConfig | None = None) -> web.Application:
    app = web.Application(middlewares=[faults_middleware])
    app[SANDBOX_STATE] = SandboxState(config or SandboxConfig())
    r = app.router
    r.add_post("/oauth2/token", token)
    for prefix in ("", "/v2"):
        base = prefix + "/sps/{iys}/brands/{brand}/consents"
        r.add_post(base, add_consent)
        r.add_post(base + "/request", add_batch)
        r.add_get(base + "/request/{request_id}", batch_result)
    base = "/sps/{iys}/brands/{brand}/consents"
    r.add_post(base + "/status", consent_status)
    r.add_post(base + "/{recipient_type}/status/{type}", batch_status)
    r.add_get(base + "/changes", changes)
    r.add_get("/_sandbox/state", admin_state)
    r.add_post("/_sandbox/clock", admin_clock)
    r.add_post("/_sandbox/faults", admin_faults)
    r.add_post("/_sandbox/citizen-change", admin_citizen_change)
    r.add_post("/_sandbox/seed", admin_seed)
    r.add_post("/_sandbox/reset", admin_reset)
    return app


async def run_sandbox(host: str, port: int, config: SandboxConfig | None = None) -> None:
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


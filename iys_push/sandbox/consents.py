"""Single add (v1 and v2), single status and batch status (IYS_API.md §2.1, §2.1b, §2.4, §2.5)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from iys_push.sandbox.http_common import (
    SANDBOX_STATE,
    authorised_body,
    errors,
    movement_body,
)
from iys_push.sandbox.rules import (
    business_rule,
    error,
    is_email,
    is_phone,
    validate,
    validate_lookup,
)
from iys_push.timefmt import format_iys

MAX_STATUS_RECIPIENTS = 1000


async def add_consent(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    checked = await authorised_body(request)
    if isinstance(checked, web.Response):
        return checked
    brand_code, body = checked
    v2 = request.path.startswith("/v2/")
    # v2: an identical resend (same path, same body) gets the first answer back and writes
    # nothing (§2.1b). v1 has no such memory: the state rules decide (H178/H174, UNCONFIRMED).
    digest = state.digest(request.path, body)
    if v2 and digest in state.idempotent:
        return web.json_response(state.idempotent[digest])
    consent, problems = validate(body, state.clock.now())
    if problems:
        return errors(422, *problems)
    assert consent is not None
    rule = business_rule(consent, state.current.get((brand_code, *consent.key_tail)))
    if rule is not None:
        return errors(422 if rule["code"] == "H408" else 400, rule)
    answer = movement_body(state.record(brand_code, consent))
    if v2:
        state.idempotent[digest] = answer
    return web.json_response(answer)


async def consent_status(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    checked = await authorised_body(request)
    if isinstance(checked, web.Response):
        return checked
    brand_code, body = checked
    key_tail, problems = validate_lookup(body)
    if problems:
        return errors(400 if problems[0]["code"] == "H097" else 422, *problems)
    assert key_tail is not None
    m = state.current.get((brand_code, *key_tail))
    if m is None:
        # UNCONFIRMED (IYS_API.md §2.4): İYS documents no answer for "no consent stored".
        # We choose 404 with H093 (the table's "not found" code, there for transactionIds).
        return errors(404, {"code": "H093", "message": "Kayıt bulunamadı."})
    answer: dict[str, Any] = {
        "consentDate": format_iys(m.consent_date) if m.consent_date else None,
        "source": m.source, "recipientType": m.recipient_type, "status": m.status,
        "type": m.type, "recipient": m.recipient, "creationDate": format_iys(m.creation_date),
        "retailerAccessCount": 0, "transactionId": m.transaction_id}
    return web.json_response(answer)


def _recipients_problems(recipients: Any, itype: str) -> list[dict[str, Any]]:
    if not isinstance(recipients, list):
        return [error("H478", "recipients", recipients)]
    if not recipients:
        return [error("H164", "recipients", recipients)]
    if len(recipients) > MAX_STATUS_RECIPIENTS:
        # UNCONFIRMED code: the 1000 limit is documented (§2.5), its code is not; H127 is the
        # table's "recipients list too long".
        return [{"code": "H127", "message": "recipients listesi en fazla 1000 alıcı içerebilir.",
                 "location": ["recipients"], "value": len(recipients)}]
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, r in enumerate(recipients):
        where = {"location": ["recipients", i], "value": r}
        text = r.lower() if isinstance(r, str) else None
        if text in seen:
            problems.append({**error("H193"), **where})
            continue
        if text is not None:
            seen.add(text)
        fits = isinstance(r, str) and (is_phone(r) if itype in ("MESAJ", "ARAMA")
                                       else is_email(r))
        if not fits:
            message = (f"İzin tipi (type) {itype} için, alıcı (recipient) "
                       + ("telefon formatında" if itype != "EPOSTA" else "e-posta formatında")
                       + " olmalıdır.")
            problems.append({"code": "H464", "message": message, **where})
    return problems


async def batch_status(request: web.Request) -> web.Response:
    """Lists only the recipients whose consent is ONAY; RET and unknown are left out (§2.5)."""
    state = request.app[SANDBOX_STATE]
    checked = await authorised_body(request)
    if isinstance(checked, web.Response):
        return checked
    brand_code, body = checked
    rtype, itype = request.match_info["recipient_type"], request.match_info["type"]
    path_problems = []
    if rtype not in ("BIREYSEL", "TACIR"):
        path_problems.append(error("H116", "recipientType", rtype))
    if itype not in ("ARAMA", "MESAJ", "EPOSTA"):
        path_problems.append(error("H117", "type", itype))
    if path_problems:
        return errors(422, *path_problems)
    if not isinstance(body, dict) or "recipients" not in body:
        return errors(422, error("H168", "recipients", None))
    problems = _recipients_problems(body["recipients"], itype)
    if problems:
        return errors(422, *problems)
    listed = []
    for r in body["recipients"]:
        key = (brand_code, r.lower() if itype == "EPOSTA" else r, rtype, itype)
        current = state.current.get(key)
        if current is not None and current.status == "ONAY":
            listed.append(current.recipient)
    return web.json_response({"requestId": str(uuid.uuid4()), "list": listed})

"""Consent links (issue #30): mint one, mint a campaign's worth from a CSV, see and revoke.

``POST /brands/{brand_id}/links`` → ``{id, url, code, expires_at, …}`` (201). The code is
shown once: only its SHA-256 is stored. ``POST /brands/{brand_id}/links.csv`` takes a CSV
of recipients and streams back ``recipient,url`` (the recipient as written), every line
checked before the first link is made (422 naming the bad lines). ``DELETE
/brands/{brand_id}/links/{link_id}`` revokes: the page then answers as for an unknown code.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from inbound import consent_links, link_settings
from inbound.api import inputs, params
from inbound.api.problems import STREAMING, Problem, invalid
from inbound.api.routes_consents import actor_of
from inbound.api.scope import visible_brand
from inbound.consent_links import LINK_TYPES, LinkSpec

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

LINK_FIELDS = ("recipient", "action", "types", "expires_at")
BULK_BODY_LIMIT = 32 * 1024 * 1024     # two million numbers
BULK_MAX_ROWS = 1_000_000


def _types(value: Any, field: str = "types") -> tuple[str, ...]:
    if value is None:
        return ("MESAJ",)
    if (not isinstance(value, list) or not value or len(value) > len(LINK_TYPES)
            or any(v not in LINK_TYPES for v in value) or len(set(value)) != len(value)):
        raise invalid(field, "a list of MESAJ and ARAMA without repeats (default [MESAJ]); "
                      "a link reaches a phone, so EPOSTA has no place here")
    return tuple(value)


def _action(value: Any) -> str:
    if value is None:
        return "RET"
    if value not in consent_links.ACTIONS:
        raise invalid("action", "one of RET (default), ONAY, choice")
    return str(value)


def _expires(value: Any) -> datetime | None:
    if value is None:
        return None
    at = inputs.date_time(inputs.text(value, "expires_at", max_length=40), "expires_at")
    if at <= datetime.now(UTC):
        raise invalid("expires_at", "must be in the future")
    return at


def _spec(brand_id: str, caller_actor: str, action: Any, types: Any, expires: Any
          ) -> LinkSpec:
    return LinkSpec(brand_id, _action(action), _types(types), _expires(expires), caller_actor)


def _answer(base_url: str, link_id: int, code: str, spec: LinkSpec,
            recipient: str | None) -> dict[str, Any]:
    return {"id": link_id, "url": consent_links.url_of(base_url, code), "code": code,
            "recipient": recipient, "action": spec.action, "types": list(spec.types),
            "expires_at": spec.expires_at.isoformat() if spec.expires_at else None}


@routes.post("/brands/{brand_id}/links")
async def mint_link(request: web.Request) -> web.Response:
    pool, brand_id, caller = await visible_brand(request)
    body = await params.json_object(request)
    params.check_fields(body, LINK_FIELDS)
    spec = _spec(brand_id, actor_of(caller).actor, body.get("action"), body.get("types"),
                 body.get("expires_at"))
    recipient = None
    raw = body.get("recipient")
    if raw is not None:
        inputs.text(raw, "recipient", max_length=40)
        recipient = consent_links.normalise_mobile(raw)
        if recipient is None:
            raise invalid("recipient", "a Turkish mobile number (0532 123 45 67, "
                          "+905321234567 …); leave it out for a brand-wide link")
    elif not link_settings.of(request).otp_outbox:
        raise Problem(409, "a brand-wide link (no recipient) checks the number with a code "
                      "sent by SMS, and no sending link is configured for it (links.otp_link "
                      "names a transmitter or transceiver [[link]]); give a recipient",
                      title="Brand-wide links are not available")
    link_id, code = await consent_links.mint_one(pool, spec, recipient)
    log.info("consent link minted", brand=brand_id, link_id=link_id, action=spec.action,
             personal=recipient is not None)
    return web.json_response(_answer(link_settings.of(request).base_url, link_id, code, spec,
                                     recipient), status=201)


@routes.post("/brands/{brand_id}/links.csv")
async def mint_links_csv(request: web.Request) -> web.StreamResponse:
    pool, brand_id, caller = await visible_brand(request)
    q = request.query
    spec = _spec(brand_id, actor_of(caller).actor, q.get("action"),
                 q.get("types").split(",") if q.get("types") else None, q.get("expires_at"))
    if request.content_type not in ("text/csv", "text/plain"):
        raise Problem(415, "send the recipients as text/csv")
    raw = await params.read_body(request, BULK_BODY_LIMIT)
    try:
        text = raw.decode("utf-8")
        rows = consent_links.parse_recipients(inputs.check_storable(text, "body"),
                                              BULK_MAX_ROWS)
    except UnicodeDecodeError:
        raise invalid("body", "the CSV must be UTF-8") from None
    except consent_links.CsvRefused as refused:
        raise Problem(422, f"{len(refused.errors)} lines are not Turkish mobile numbers; no "
                      "link was made", errors=[{"field": f"line {n}", "reason": reason}
                                               for n, reason in refused.errors]) from None
    if not rows:
        raise invalid("body", "no recipients: one Turkish mobile number a line, or a column "
                      "headed recipient")
    base_url = link_settings.of(request).base_url.rstrip("/") + "/"
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{brand_id}-links.csv"'})
    await response.prepare(request)
    request[STREAMING] = True
    await response.write(b"recipient,url\r\n")
    done = 0
    async for codes in consent_links.mint_many(pool, spec, (n for _, n in rows)):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerows((written, base_url + code)
                         for (written, _), code in zip(rows[done:done + len(codes)], codes,
                                                       strict=True))
        done += len(codes)
        await response.write(buffer.getvalue().encode("utf-8"))
    await response.write_eof()
    log.info("consent links minted", brand=brand_id, count=done, action=spec.action)
    return response


def _link_row(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["types"] = list(out["types"])
    for name in ("expires_at", "created_at", "revoked_at", "confirmed_at"):
        if out[name] is not None:
            out[name] = out[name].isoformat()
    return out


@routes.get("/brands/{brand_id}/links/{link_id}")
async def one_link(request: web.Request) -> web.Response:
    pool, brand_id, _ = await visible_brand(request)
    row = await pool.fetchrow(consent_links.SQL.one, brand_id,
                              params.path_id(request, "link_id"))
    if row is None:
        raise Problem(404, "link not found")
    return web.json_response(_link_row(row))


@routes.delete("/brands/{brand_id}/links/{link_id}")
async def revoke_link(request: web.Request) -> web.Response:
    pool, brand_id, _ = await visible_brand(request)
    link_id = params.path_id(request, "link_id")
    if not await consent_links.revoke(pool, brand_id, link_id):
        raise Problem(404, "link not found")
    log.info("consent link revoked", brand=brand_id, link_id=link_id)
    return web.Response(status=204)

"""A link's page, the data side (issue #30): the lookup every request makes, the per-page
token, and the recording of a tap through the one consent writer.

Opening a link records nothing (link previews, mail scanners and operators' URL checkers
fetch it): the page carries a token bound to the link and the moment it was opened (an HMAC
with the service's secret), and only the POST of the page's button with that token records.
The recording is a ``consent_submission`` (via ``link``, actor ``link:<id>``) with the
evidence (link id, opened, confirmed, address, user agent) and one ``consent_event`` per
type, source ``HS_WEB``, consent date = the moment of the POST, written by
``consent_store.write`` in the transaction that marks the link confirmed: the pusher sends
it like any consent (same order per key, deadline, supersession). A second tap finds the
link confirmed under its row lock and answers the first result.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from prometheus_client import Counter

from inbound import consent_links, consent_store
from inbound.consents import Consent
from iys_push import consent_rules
from iys_push.store import SQL as PUSH_SQL
from iys_push.timefmt import iso_tr
from smpp_bind.addresses import mask_msisdn

log = structlog.get_logger(__name__)

LINK_OPENED = Counter("iys_inbound_link_opened_total",
                      "Link pages opened (GET) with a usable code, by brand and action",
                      ["brand", "action"])
LINK_CONFIRMED = Counter("iys_inbound_link_confirmed_total",
                         "Consents recorded by a link's button, by brand and action",
                         ["brand", "action"])
LINK_EXPIRED = Counter("iys_inbound_link_expired_total",
                       "Link pages opened with an expired or revoked code, by brand and action",
                       ["brand", "action"])
LINK_INVALID = Counter("iys_inbound_link_invalid_total",
                       "Link pages asked for with a code that does not exist")

PAGE_TOKEN_TTL = 86400          # a page opened yesterday evening may be tapped this morning
USER_AGENT_MAX = 500
ACTOR_SCOPE = "link"


@dataclass(frozen=True)
class Link:
    id: int
    brand_id: str
    brand_name: str
    recipient: str | None
    action: str
    types: tuple[str, ...]
    usable: bool
    result: dict[str, Any] | None
    privacy_notice: dict[str, Any] | None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def lookup(pool: asyncpg.Pool, code: str) -> Link | None:
    """The link of ``code`` or None. Any string is hashed and looked up, so an unknown code
    costs what a known one costs; a malformed one is looked up too (as a digest that no row
    can have), for the same reason."""
    well_formed = consent_links.CODE_PATTERN.fullmatch(code) is not None
    key = consent_links.digest(code if well_formed else "!" + code[:64])
    row = await pool.fetchrow(consent_links.SQL.lookup, key)
    if row is None:
        return None
    notice = _json(row["privacy_notice"])
    return Link(row["id"], row["brand_id"], row["brand_name"], row["recipient"],
                row["action"], tuple(row["types"]), bool(row["usable"]),
                _json(row["result"]), notice if isinstance(notice, dict) else None)


def page_token(secret: bytes, link_id: int, opened: int | None = None) -> str:
    """``<opened unix time>.<hmac>``: the page's form carries it back."""
    opened = int(time.time()) if opened is None else opened
    mac = hmac.new(secret, f"link:{link_id}:{opened}".encode(), hashlib.sha256).hexdigest()
    return f"{opened}.{mac[:32]}"


def opened_at(secret: bytes, link_id: int, token: str | None) -> datetime | None:
    """When the page carrying ``token`` was opened, if the token is this link's and fresh."""
    if not token or "." not in token or len(token) > 80:
        return None
    stamp, _, _ = token.partition(".")
    if not stamp.isdigit():
        return None
    opened = int(stamp)
    if not hmac.compare_digest(page_token(secret, link_id, opened), token):
        return None
    if not 0 <= time.time() - opened <= PAGE_TOKEN_TTL:
        return None
    return datetime.fromtimestamp(opened, UTC)


@dataclass(frozen=True)
class Tap:
    """One press of the button: what and who (the evidence)."""

    status: str
    recipient: str
    opened_at: datetime
    address: str
    user_agent: str


class NotUsable(Exception):
    """The link expired or was revoked meanwhile."""


def result_of(answer: dict[str, Any], link: Link, tap: Tap, confirmed: datetime
              ) -> dict[str, Any]:
    [consent] = answer["consents"]
    return {"status": tap.status, "types": list(link.types), "recipient": tap.recipient,
            "consent_date": consent["consent_date"], "confirmed_at": iso_tr(confirmed),
            "submission_id": consent["submission_id"],
            "events": [e["id"] for e in consent["events"]]}


async def confirm(pool: asyncpg.Pool, code: str, tap: Tap) -> tuple[dict[str, Any], bool]:
    """Record a personal link's tap: (result, first). A second tap returns the first result
    with ``first`` False; NotUsable when the link can no longer be used."""
    key = consent_links.digest(code)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(consent_links.SQL.lock_for_confirm, key)
        if row is None:
            raise NotUsable
        if row["confirmed_at"] is not None:
            return _json(row["result"]), False
        if not row["usable"]:
            raise NotUsable
        link = Link(row["id"], row["brand_id"], "", row["recipient"], row["action"],
                    tuple(row["types"]), True, None, None)
        result, consents = await write_tap(conn, link, tap)
        await conn.execute(consent_links.SQL.confirmed, link.id,
                           datetime.fromisoformat(result["confirmed_at"]),
                           result["submission_id"], result)
    await after_tap(pool, link, consents, tap)
    return result, True


async def write_tap(conn: asyncpg.Connection, link: Link, tap: Tap
                 ) -> tuple[dict[str, Any], list[Consent]]:
    confirmed = datetime.now(UTC)
    for type_ in link.types:
        found = consent_rules.refusals(recipient=tap.recipient, type_=type_,
                                       status=tap.status, source="HS_WEB",
                                       consent_date=confirmed, now=confirmed, intake=True)
        if found:   # minting checked the number: only a changed rule can bring this here
            raise ValueError("; ".join(r.reason for r in found))
    evidence = {"link_id": link.id, "opened_at": iso_tr(tap.opened_at),
                "confirmed_at": iso_tr(confirmed), "ip": tap.address,
                "user_agent": tap.user_agent[:USER_AGENT_MAX],
                "action": link.action}
    consents = [Consent(0, tap.recipient, tap.recipient, link.types, tap.status, "HS_WEB",
                        "BIREYSEL", confirmed, evidence)]
    actor = consent_store.Actor("link", f"link:{link.id}", ACTOR_SCOPE)
    answer = await consent_store.write(conn, link.brand_id, consents, actor)
    return result_of(answer, link, tap, confirmed), consents


async def after_tap(pool: asyncpg.Pool, link: Link, consents: list[Consent], tap: Tap) -> None:
    consent_store.counted(link.brand_id, consents,
                          consent_store.Actor("link", f"link:{link.id}", ACTOR_SCOPE))
    LINK_CONFIRMED.labels(link.brand_id, link.action).inc()
    log.info("consent by link", link_id=link.id, brand=link.brand_id, status=tap.status,
             recipient=mask_msisdn(tap.recipient), address=_mask_address(tap.address))
    await pool.execute(PUSH_SQL.notify_outbox)


def _mask_address(address: str) -> str:
    """The client's address for logs: the network, never the host (IPv4 /24, IPv6 /48)."""
    if ":" in address:
        return ":".join(address.split(":")[:3]) + "::/48"
    parts = address.split(".")
    return ".".join(parts[:3]) + ".0/24" if len(parts) == 4 else "?"

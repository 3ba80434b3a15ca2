"""Brand-wide consent links (issue #30 item 4): the number is checked with a one-time code.

The page asks for the number; a 6-digit code (``secrets``) goes to it by SMS through the
configured transmitter or transceiver link: a ``sms_out`` row (kind ``otp``) on that link's
outbox, sent by the reply path's sender, in the transaction that stores the code's HMAC
(never the code). Not subject to the confirmation replies' interval or hourly cap (the code
is not a reply; the reply rules leave it out); limited instead per number and per
address an hour, counted in PostgreSQL so every process shares the counts. A code is valid
for five minutes and three tries; the right one records the consent through the one writer
(``link_confirm.write_tap``) in the transaction that spends the code, and the same form sent
again answers that result.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from inbound import consent_links, link_confirm
from inbound.link_confirm import Link, Tap
from inbound.link_settings import ConsentLinkSettings
from smpp_bind.addresses import mask_msisdn

log = structlog.get_logger(__name__)

CODE_DIGITS = 6
VALID_SECONDS = 300
TRIES = 3
SQL = consent_links.SQL


def code_digest(secret: bytes, link_id: int, recipient: str, code: str) -> bytes:
    return hmac.new(secret, f"otp:{link_id}:{recipient}:{code}".encode(),
                    hashlib.sha256).digest()


class Limited(Exception):
    """Too many codes for this number or from this address within the hour."""


async def send_code(pool: asyncpg.Pool, settings: ConsentLinkSettings, secret: bytes,
                    link: Link, recipient: str, address: str, sms_text: str) -> int:
    """Store a new code's digest and queue its SMS; the code's id. ``sms_text`` has a
    ``{code}`` field."""
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SQL.otp_requests_lock, "otp:" + recipient)
        await conn.execute(SQL.otp_requests_lock, "otp-a:" + address)
        counts = await conn.fetchrow(SQL.otp_recent, recipient, address)
        if (counts["per_number"] >= settings.otp_per_number_per_hour
                or counts["per_address"] >= settings.otp_per_address_per_hour):
            raise Limited
        await conn.execute(SQL.otp_blank_expired)
        sms_id = await conn.fetchval(SQL.otp_send, settings.otp_outbox, recipient,
                                     settings.otp_source, sms_text.format(code=code))
        otp_id = await conn.fetchval(SQL.otp_insert, link.id, recipient,
                                     code_digest(secret, link.id, recipient, code), address,
                                     float(VALID_SECONDS), sms_id)
    log.info("consent link code sent", link_id=link.id, otp_id=otp_id,
             recipient=mask_msisdn(recipient))
    return otp_id


@dataclass(frozen=True)
class Outcome:
    """What a code entry led to: ``recorded`` (result; ``first`` False for a repeat),
    ``wrong`` (tries left), or ``spent`` (expired, used up, or unknown)."""

    kind: str
    result: dict[str, Any] | None = None
    first: bool = True
    left: int = 0
    recipient: str = ""


async def verify(pool: asyncpg.Pool, secret: bytes, link: Link, otp_id: int, code: str,
                 tap: Tap) -> Outcome:
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(SQL.otp_lock, otp_id, link.id)
        if row is None:
            return Outcome("spent")
        if row["used_at"] is not None:
            result = row["result"]
            return Outcome("recorded", json.loads(result) if isinstance(result, str)
                           else result, first=False, recipient=row["recipient"])
        if not row["fresh"] or row["tries"] >= TRIES:
            return Outcome("spent", recipient=row["recipient"])
        wanted = code_digest(secret, link.id, row["recipient"], code)
        if not hmac.compare_digest(wanted, bytes(row["code_digest"])):
            tries = await conn.fetchval(SQL.otp_wrong, otp_id)
            left = TRIES - tries
            return Outcome("wrong" if left > 0 else "spent", left=left,
                           recipient=row["recipient"])
        tap = Tap(tap.status, row["recipient"], tap.opened_at, tap.address, tap.user_agent)
        result, consents = await link_confirm.write_tap(conn, link, tap)
        result["otp_id"] = otp_id
        await conn.execute(SQL.otp_used, otp_id, result)
    await link_confirm.after_tap(pool, link, consents, tap)
    return Outcome("recorded", result, recipient=row["recipient"])

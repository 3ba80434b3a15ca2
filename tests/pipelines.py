"""What the pipeline tests share: the demo rules (and storing them, so that their brands and
numbers exist in the database), a PDU as the session hands it over, and the pool warmed so
that concurrent batches really overlap."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from inbound import store
from inbound.service import DEMO_RULES
from keywords import RuleSet
from smpp_bind import pdu
from smpp_bind.session import Received

RULES = RuleSet.from_toml(DEMO_RULES.read_text(encoding="utf-8"))


async def store_demo_rules(pool: asyncpg.Pool) -> None:
    """The demo rules into the database, as the service does at start."""
    async with pool.acquire() as conn:
        await store.replace_rules(conn, RULES.to_dict())


def received(raw: bytes, session: int = 1) -> Received:
    """``raw`` as read by the SMPP session ``session`` (a new number: a new bind)."""
    header = pdu.parse_header(raw)
    try:
        parsed: pdu.DeliverSm | None = pdu.parse_deliver_sm(raw)
        error = None
    except pdu.PduError as exc:
        parsed, error = None, str(exc)
    return Received(header.command_id, header.sequence, raw, datetime.now(UTC), parsed, error,
                    session=session)


async def outcomes(pool: asyncpg.Pool) -> list[str]:
    return [r["outcome"] for r in await pool.fetch("SELECT outcome FROM mo_message ORDER BY id")]


async def warm(pool: asyncpg.Pool) -> None:
    """Open pool connections ahead, so that concurrent batches really overlap (with one
    connection the second batch would wait for it and see the first one committed)."""
    async with pool.acquire(), pool.acquire(), pool.acquire():
        pass

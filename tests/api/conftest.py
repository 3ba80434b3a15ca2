"""Fixtures for the API tests: the real aiohttp app on a real PostgreSQL, two owners.

``world`` is the demo configuration split between two owners: A owns ``acme`` (also the
dedicated number 908505320000), B owns ``kuzey``; both brands answer on the shared 4609.
Each owner has a token; the operator uses the configured admin token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from inbound import store
from inbound.api import admin, setup_api

ADMIN_TOKEN = "operator-admin-token-for-tests"
RULES: dict[str, Any] = {
    "number": [{"msisdn": "4609", "shared": True},
               {"msisdn": "908505320000", "shared": False, "brand": "acme"}],
    "brand": [{"id": "acme", "name": "ACME", "aliases": ["ACME MARKET"], "iys_code": 700001,
               "brand_code": 700001},
              {"id": "kuzey", "name": "KUZEY KAHVE", "aliases": ["KUZEY"], "iys_code": 700001,
               "brand_code": 700002}],
}
T0 = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)


@dataclass
class World:
    client: TestClient
    pool: asyncpg.Pool
    owner_a: int
    owner_b: int
    token_a: str
    token_b: str

    def auth(self, who: str) -> dict[str, str]:
        token = {"admin": ADMIN_TOKEN, "a": self.token_a, "b": self.token_b}[who]
        return {"Authorization": f"Bearer {token}"}


async def seed_rules(pool: asyncpg.Pool, owner_a: int, owner_b: int) -> None:
    async with pool.acquire() as conn:
        await store.replace_rules(conn, RULES)
    await pool.execute("UPDATE brand SET owner_id = $1 WHERE id = 'acme'", owner_a)
    await pool.execute("UPDATE brand SET owner_id = $1 WHERE id = 'kuzey'", owner_b)


async def add_message(pool: asyncpg.Pool, *, sender: str, text: str, brand: str | None,
                      status: str = "RET", to: str = "4609", outcome: str = "consent",
                      at: datetime = T0, state: str = "accepted",
                      transaction_id: str | None = "tx-1") -> int:
    """One stored SMS as the pipeline would leave it: raw PDU, message, event, attempt."""
    message_id = await pool.fetchval(
        """INSERT INTO mo_message (link, received_at, completed_at, sender, source_addr,
                                   destination_addr, text, normalized, outcome, reason)
           VALUES ('smsc-1', $1, $1, $2, $3, $4, $5, lower($5), $6, 'test')
           RETURNING id""", at, sender, sender.lstrip("+"), to, text, outcome)
    await pool.execute(
        """INSERT INTO sms_in (link, received_at, command, sequence, pdu, pdu_digest, fields,
                               source_addr, sender, destination_addr, kind, data_coding,
                               encoding, text, message_id)
           VALUES ('smsc-1', $1, 'deliver_sm', 7, $2, $3, $4, $5, $6, $7, 'mo', 0, 'gsm', $8,
                   $9)""",
        at, b"\x00\x00\x00\x2a\x00\x00\x00\x05" + text.encode(), b"digest",
        {"short_message": text}, sender.lstrip("+"), sender, to, text, message_id)
    if brand is not None:
        event_id = await pool.fetchval(
            """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                   recipient_type, type, status, received_at, consent_date, deadline_at, state,
                   iys_transaction_id)
               SELECT $1, b.id, b.iys_code, b.brand_code, $2, 'BIREYSEL', 'MESAJ', $3, $4, $4,
                      $5, $6, $7
                 FROM brand b WHERE b.id = $8
               RETURNING id""",
            message_id, sender, status, at, at + timedelta(days=3), state, transaction_id, brand)
        await pool.execute(
            """INSERT INTO iys_attempt (event_id, started_at, latency_ms, method, path, request,
                                        http_status, response, code, outcome)
               VALUES ($1, $2, 12.5, 'POST', '/sps/700001/brands/700001/consents', $3, 200,
                       $4, NULL, 'accepted')""",
            event_id, at + timedelta(seconds=1), {"recipient": sender, "status": status},
            f'{{"transactionId": "{transaction_id}"}}')
    return message_id


def make_app(pool: asyncpg.Pool) -> web.Application:
    app = web.Application()
    setup_api(app, pool, admin_token=ADMIN_TOKEN)
    return app


@pytest.fixture
async def world(pool: asyncpg.Pool, aiohttp_client: Any) -> World:
    owner_a = await admin.create_owner(pool, "Acme Gıda A.Ş.", "it@acme.example")
    owner_b = await admin.create_owner(pool, "Kuzey Kahve Ltd.", "it@kuzey.example")
    await seed_rules(pool, owner_a, owner_b)
    token_a = await admin.create_token(pool, owner_id=owner_a, admin=False, name="a")
    token_b = await admin.create_token(pool, owner_id=owner_b, admin=False, name="b")
    client = await aiohttp_client(make_app(pool))
    return World(client, pool, owner_a, owner_b, token_a, token_b)

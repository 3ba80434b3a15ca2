"""A local receiver that verifies every webhook with an independent implementation (the
``standardwebhooks`` package), two owners with their brands, and a deliverer on a fake
clock."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from inbound.api import admin
from inbound.webhooks import new_secret
from inbound.webhooks.delivery import Deliverer, WebhookSettings
from inbound.webhooks.safety import AddressPolicy
from tests.api.conftest import seed_rules, world  # noqa: F401  (the API tests' fixture)

LOOPBACK = AddressPolicy(allow_loopback=True)


class FakeClock:
    """UTC datetimes the test moves by hand (tests/fakeclock.py's idea, for datetimes)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@dataclass
class Receiver:
    """Answers ``status`` (503 while down); keeps what verified, counts what did not."""

    secrets: list[str]
    status: int = 204
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    bad_signatures: int = 0
    refused_while_down: int = 0
    server: TestServer | None = None
    hold: asyncio.Event | None = None     # set: answer; unset: keep the request waiting
    waiting: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.status >= 300:
            self.refused_while_down += 1
            return web.Response(status=self.status)
        headers = dict(request.headers)
        for secret in self.secrets:
            try:
                Webhook(secret).verify(raw, headers)
                break
            except WebhookVerificationError:
                continue
        else:
            self.bad_signatures += 1
            return web.Response(status=400)
        if self.hold is not None:
            self.waiting += 1
            await self.hold.wait()
        self.received.append(json.loads(raw))
        self.headers.append({k.lower(): v for k, v in headers.items()})
        return web.Response(status=self.status)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/hook"))


@pytest.fixture
async def receiver() -> Any:
    rec = Receiver(secrets=[])
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    rec.server = TestServer(app, host="127.0.0.1")
    await rec.server.start_server()
    yield rec
    await rec.server.close()


@dataclass
class Owners:
    pool: asyncpg.Pool
    a: int
    b: int


@pytest.fixture
async def owners(pool: asyncpg.Pool) -> Owners:
    a = await admin.create_owner(pool, "Acme Gıda A.Ş.", "it@acme.example")
    b = await admin.create_owner(pool, "Kuzey Kahve Ltd.", "it@kuzey.example")
    await seed_rules(pool, a, b)
    return Owners(pool, a, b)


async def add_endpoint(pool: asyncpg.Pool, owner: int, url: str, *,
                       events: tuple[str, ...] = ("consent.received", "consent.settled",
                                                  "iys.changed", "review.needed"),
                       brands: list[str] | None = None, full: bool = True) -> tuple[int, str]:
    secret = new_secret()
    endpoint = await pool.fetchval(
        "INSERT INTO webhook_endpoint (owner_id, url, events, brands, full_recipient, secret)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        owner, url, list(events), brands, full, secret)
    return endpoint, secret


_OPEN: list[Deliverer] = []


def deliverer(pool: asyncpg.Pool, clock: FakeClock, **settings: Any) -> Deliverer:
    made = Deliverer(pool, WebhookSettings(**settings), LOOPBACK, clock=clock,
                     rng=random.Random(32))
    _OPEN.append(made)
    return made


@pytest.fixture(autouse=True)
async def _close_deliverers() -> Any:
    yield
    while _OPEN:
        await _OPEN.pop().close()

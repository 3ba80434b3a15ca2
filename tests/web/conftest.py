"""Fixtures for the web page: the API and the pages on one app, two owners with passwords.

Owner A (``a@acme.example``) owns ``acme`` and its number 908505320000; owner B owns
``kuzey``; both brands answer on the shared 4609 (the API tests' world, see
``tests/api/conftest.py``). A has a pending RET whose deadline is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from inbound.api import admin, setup_api
from inbound.web import set_password, setup_web
from inbound.web.limits import FailedSignIns
from tests.api.conftest import ADMIN_TOKEN, add_message, seed_rules

SECRET = b"web-test-secret-0123456789abcdef"
PASSWORD_A = "acme-parolasi-123"
PASSWORD_B = "kuzey-parolasi-456"
EMAIL_A = "a@acme.example"
EMAIL_B = "b@kuzey.example"
RECIPIENT = "+905321234567"


def make_app(pool: asyncpg.Pool, failed_sign_ins: FailedSignIns | None = None
             ) -> web.Application:
    app = web.Application()
    setup_api(app, pool, admin_token=ADMIN_TOKEN)
    setup_web(app, pool, secret=SECRET, failed_sign_ins=failed_sign_ins)
    return app


@dataclass
class Site:
    pool: asyncpg.Pool
    owner_a: int
    owner_b: int
    pending_at: datetime


async def seed(pool: asyncpg.Pool) -> Site:
    owner_a = await admin.create_owner(pool, "Acme Gıda A.Ş.", EMAIL_A)
    owner_b = await admin.create_owner(pool, "Kuzey Kahve Ltd.", EMAIL_B)
    await seed_rules(pool, owner_a, owner_b)
    assert await set_password(pool, owner_a, PASSWORD_A)
    assert await set_password(pool, owner_b, PASSWORD_B)
    await add_message(pool, sender=RECIPIENT, text="RET ACME", brand="acme")
    pending_at = datetime.now(UTC) - timedelta(hours=2)
    await add_message(pool, sender="+905551112233", text="ret acme market", brand="acme",
                      at=pending_at, state="pending", transaction_id=None)
    await add_message(pool, sender="+905559998877", text="RET KUZEY", brand="kuzey")
    return Site(pool, owner_a, owner_b, pending_at)


@pytest.fixture
async def site(pool: asyncpg.Pool) -> Site:
    return await seed(pool)


@pytest.fixture
async def client(site: Site, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(make_app(site.pool))


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(client: TestClient, email: str = EMAIL_A, password: str = PASSWORD_A
                  ) -> tuple[int, str]:
    """(status of the sign-in answer, the page it leads to)."""
    form = await client.get("/ui/login")
    token = csrf_of(await form.text())
    response = await client.post("/ui/login", data={"csrf": token, "email": email,
                                                    "password": password})
    return response.status, await response.text()

"""Fixtures for consent links (issue #30): the API's world (tests/api/conftest.py) with the
link page mounted under /r, links under https://ret.example/r."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from inbound.api import PREFIX, admin, setup_api
from inbound.link_settings import ConsentLinkSettings
from inbound.web.pages_links import setup_link_pages
from tests.api.conftest import ADMIN_TOKEN, seed_rules

SECRET = b"link-test-secret-0123456789abcdef"
BASE_URL = "https://ret.example/r"
RECIPIENT = "+905321234567"
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def make_app(pool: asyncpg.Pool, settings: ConsentLinkSettings | None = None
             ) -> web.Application:
    app = web.Application()
    setup_api(app, pool, admin_token=ADMIN_TOKEN)
    setup_link_pages(app, pool, secret=SECRET,
                     settings=settings or ConsentLinkSettings(base_url=BASE_URL))
    return app


@dataclass
class Links:
    client: TestClient
    pool: asyncpg.Pool
    token_a: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_a}"}

    async def mint(self, brand: str = "acme", **body: Any) -> dict[str, Any]:
        body.setdefault("recipient", RECIPIENT)
        body = {k: v for k, v in body.items() if v is not None}
        response = await self.client.post(f"{PREFIX}/brands/{brand}/links", json=body,
                                          headers=self.auth)
        assert response.status == 201, await response.text()
        return await response.json()

    async def open(self, code: str, method: str = "GET", **headers: str) -> tuple[int, str]:
        response = await self.client.request(method, f"/r/{code}", headers=headers)
        return response.status, await response.text()

    async def tap(self, code: str, status: str | None = None, token: str | None = None
                  ) -> tuple[int, str]:
        if token is None:
            _, page = await self.open(code)
            found = TOKEN.search(page)
            assert found, page
            token = found.group(1)
        form = {"token": token}
        if status is not None:
            form["status"] = status
        response = await self.client.post(f"/r/{code}", data=form,
                                          headers={"User-Agent": "Mozilla/5.0 (test phone)"})
        return response.status, await response.text()


async def make_links(pool: asyncpg.Pool, aiohttp_client: Any,
                     settings: ConsentLinkSettings | None = None) -> Links:
    owner_a = await admin.create_owner(pool, "Acme Gıda A.Ş.", "it@acme.example")
    owner_b = await admin.create_owner(pool, "Kuzey Kahve Ltd.", "it@kuzey.example")
    await seed_rules(pool, owner_a, owner_b)
    token_a = await admin.create_token(pool, owner_id=owner_a, admin=False, name="a")
    client = await aiohttp_client(make_app(pool, settings))
    return Links(client, pool, token_a)


@pytest.fixture
async def links(pool: asyncpg.Pool, aiohttp_client: Any) -> Links:
    return await make_links(pool, aiohttp_client)

"""Small HTTP helpers for the sandbox contract tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import aiohttp

from iys_push.sandbox.testing import SandboxServer
from iys_push.timefmt import TR, format_iys

BASE = "/sps/700001/brands/700001/consents"
PHONE = "+905321234567"
# A Wednesday with no holiday near it: fixed, so date rules never depend on today.
WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=TR)


async def call(http: aiohttp.ClientSession, sb: SandboxServer, method: str, path: str,
               body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, sb.url + path, json=body, headers=headers) as resp:
        text = await resp.text()
        return resp.status, (await resp.json(content_type=None)) if text else None


async def token(http: aiohttp.ClientSession, sb: SandboxServer) -> dict[str, Any]:
    status, body = await call(http, sb, "POST", "/oauth2/token",
                              {"grant_type": "password", "username": "sandbox",
                               "password": "sandbox"})
    assert status == 200
    return body


async def access(http: aiohttp.ClientSession, sb: SandboxServer) -> str:
    return (await token(http, sb))["access_token"]


def consent(status: str = "ONAY", when: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return {"consentDate": format_iys(when or datetime.now(TR) - timedelta(minutes=1)),
            "source": "HS_MESAJ", "recipient": PHONE, "recipientType": "BIREYSEL",
            "status": status, "type": "MESAJ", **extra}


def codes(body: Any) -> list[str]:
    return [e["code"] for e in body["errors"]]

"""The web page as the running service serves it: mounted by ``create_app``, passwords set by
the ``admin set-password`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import asyncpg
import pytest

from inbound.http import ServiceState, create_app
from tests.web.conftest import EMAIL_A, SECRET, Site, sign_in

NEW_PASSWORD = "yeni-parola-2026"


def set_password_cli(dsn: str, owner: int, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": dsn}
    return subprocess.run(
        [sys.executable, "-m", "inbound.cli", "admin", "set-password", "--owner", str(owner),
         "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, env=env, timeout=60, check=False)


async def test_service_app_serves_the_web_page_with_a_password_set_by_the_cli(
    site: Site, dsn: str, aiohttp_client: Any,
) -> None:
    result = set_password_cli(dsn, site.owner_a, NEW_PASSWORD)
    assert result.returncode == 0, result.stderr
    assert NEW_PASSWORD not in result.stdout + result.stderr
    client = await aiohttp_client(create_app(ServiceState(pool=site.pool), web_secret=SECRET))
    status, page = await sign_in(client, EMAIL_A, NEW_PASSWORD)
    assert status == 200 and "ACME" in page


@pytest.mark.parametrize(("owner_offset", "password", "message"), [
    (0, "short", "at least 10 characters"),
    (1000, "long-enough-password", "no owner"),
])
async def test_set_password_refusals_are_one_line(
    site: Site, dsn: str, owner_offset: int, password: str, message: str,
) -> None:
    result = set_password_cli(dsn, site.owner_a + owner_offset, password)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


async def test_without_a_secret_the_app_still_serves_the_sign_in_page(
    pool: asyncpg.Pool, aiohttp_client: Any,
) -> None:
    client = await aiohttp_client(create_app(ServiceState(pool=pool)))
    response = await client.get("/ui/login")
    assert response.status == 200 and 'name="csrf"' in await response.text()

"""Keys under which the API keeps its handles on the aiohttp sub-application."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("iys_api_pool", asyncpg.Pool)

# the İYS client the consent state's refresh asks (absent: no İYS configured in this process)
IYS_CLIENT: web.AppKey[Any] = web.AppKey("iys_api_client")

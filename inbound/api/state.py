"""Keys under which the API keeps its handles on the aiohttp sub-application."""

from __future__ import annotations

import asyncpg
from aiohttp import web

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("iys_api_pool", asyncpg.Pool)

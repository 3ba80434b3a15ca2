"""The service's webhook wiring (inbound/service.py calls these, one line each)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from aiohttp import web

from inbound.webhooks.delivery import Deliverer


def attach(app: web.Application, config: Any) -> None:
    """The address policy the API checks new endpoints with (before the app starts)."""
    from inbound.api.routes_webhooks import POLICY

    app[POLICY] = config.webhooks.policy(zero_config=config.uses_simulator)


def tasks(pool: asyncpg.Pool, config: Any) -> list[asyncio.Task[Any]]:
    """The deliverer (every process runs one: claims are SKIP LOCKED) and, with an SMTP
    host configured, the e-mail notices."""
    out = []
    if config.webhooks.enabled:
        deliverer = Deliverer(pool, config.webhooks,
                              config.webhooks.policy(zero_config=config.uses_simulator))
        out.append(asyncio.create_task(deliverer.run_forever(), name="webhooks"))
    if config.smtp.host:  # e-mail notices (issue #32 item 6)
        from inbound.notices import Notifier

        out.append(asyncio.create_task(Notifier(pool, config.smtp).run_forever(),
                                       name="notices"))
    return out

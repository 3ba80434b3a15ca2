"""The service's webhook wiring (inbound/service.py calls these, one line each)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from inbound.webhooks.delivery import Deliverer


def attach(app: web.Application, config: Any) -> None:
    """The address policy the API checks new endpoints with (before the app starts)."""
    from inbound.api.routes_webhooks import POLICY

    app[POLICY] = config.webhooks.policy(zero_config=config.uses_simulator)


def background(pool: asyncpg.Pool, config: Any) -> dict[str, Callable[[], Awaitable[None]]]:
    """The deliverer (every process runs one: claims are SKIP LOCKED) and, with an SMTP
    host configured, the e-mail notices: each task's name and how to start it."""
    out: dict[str, Callable[[], Awaitable[None]]] = {}
    if config.webhooks.enabled:
        deliverer = Deliverer(pool, config.webhooks,
                              config.webhooks.policy(zero_config=config.uses_simulator))
        out["webhooks"] = deliverer.run_forever
    if config.smtp.host:  # e-mail notices (issue #32 item 6)
        from inbound.notices import Notifier

        out["notices"] = Notifier(pool, config.smtp).run_forever
    return out

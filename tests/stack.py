"""The whole service in-process, bound to the independent SMSC peer (npm ``smpp``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from inbound import service
from inbound.config import Config, IysConfig
from smpp_bind.settings import LinkSettings
from tests.smsc_peer import NodeSmsc

PEER_PASSWORD = "secret"


def link_settings(port: int, **overrides: Any) -> LinkSettings:
    base = LinkSettings(name="peer", host="127.0.0.1", port=port, system_id="iys",
                        password=PEER_PASSWORD, window=20, reconnect_min=0.05,
                        reconnect_max=0.5, response_timeout=2)
    return replace(base, **overrides)


@dataclass
class Stack:
    running: service.Running
    smsc: NodeSmsc
    pool: asyncpg.Pool

    async def count(self, sql: str, *args: Any) -> int:
        return int(await self.pool.fetchval(sql, *args))


@contextlib.asynccontextmanager
async def running_stack(dsn: str, *, smsc: NodeSmsc | None = None, wait_bound: bool = True,
                        extra_links: tuple[dict[str, Any], ...] = (),
                        **link: Any) -> AsyncIterator[Stack]:
    """The service with one link named ``peer`` (``link`` overrides its settings) and
    ``extra_links`` (each a dict of settings, ``name`` included) to the same peer."""
    async with contextlib.AsyncExitStack() as stack:
        if smsc is None:
            smsc = await stack.enter_async_context(NodeSmsc(password=PEER_PASSWORD))
        cfg = Config(database_url=dsn, http_port=0, iys=IysConfig(sandbox_port=0),
                     rules_file=service.DEMO_RULES, concat_timeout=600,
                     links=(link_settings(smsc.port, **link),
                            *(link_settings(smsc.port, **extra) for extra in extra_links)))
        running = await service.start(cfg)
        try:
            if wait_bound:
                await smsc.wait_bound()
            yield Stack(running, smsc, running.pool)
        finally:
            await service.stop(running)

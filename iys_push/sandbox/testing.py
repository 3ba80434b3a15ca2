"""Start the sandbox in-process with one line (tests, the zero-config default, benchmarks)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from iys_push.sandbox.app import SANDBOX_STATE, create_app, seed_consent_now
from iys_push.sandbox.state import Clock, Faults, SandboxConfig, SandboxState


class SandboxServer:
    """``async with SandboxServer(config) as sb:`` → ``sb.url``, ``sb.state``, ``sb.clock``."""

    def __init__(self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.app = create_app(config)
        self.host, self.port = host, port
        self.runner: web.AppRunner | None = None
        self.url = ""

    @property
    def state(self) -> SandboxState:
        return self.app[SANDBOX_STATE]

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def faults(self) -> Faults:
        return self.state.faults

    async def __aenter__(self) -> SandboxServer:
        # a short shutdown backstop: requests still running at exit are not worth waiting for
        self.runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://{self.host}:{port}"
        return self

    async def __aexit__(self, *_: Any) -> None:
        if self.runner is not None:
            self.state.stopping.set()
            await self.runner.cleanup()


async def seed_consent(server: SandboxServer, *, brand_code: int, recipient: str,
                       status: str = "ONAY", type_: str = "MESAJ",
                       recipient_type: str = "BIREYSEL") -> None:
    """A consent recorded in İYS before our service saw anything (e.g. from a web form)."""
    seed_consent_now(server.state, brand_code, recipient, status, type_, recipient_type)

"""The İYS sandbox's HTTP application: the contract of IYS_API.md §9, and admin knobs.

Modules: ``tokens`` (§1.3), ``consents`` (§2.1, §2.4, §2.5), ``batches`` (§2.2, §2.3),
``feed`` (§2.7), ``push`` (§2.8), ``reconciliation`` (§2.9), ``admin`` (``/_sandbox/``),
``faults`` (the request pipeline), ``rules`` (validation and the per-key state machine,
pure), ``state`` (memory, clock, knobs).

The admin endpoints under ``/_sandbox/`` need no authentication: the sandbox is a test and
demo tool that listens on loopback; never expose it.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from iys_push.sandbox import admin, batches, consents, feed, push, reconciliation, tokens
from iys_push.sandbox.admin import seed_consent_now
from iys_push.sandbox.batches import process_batch
from iys_push.sandbox.faults import sandbox_middleware
from iys_push.sandbox.http_common import SANDBOX_STATE
from iys_push.sandbox.state import SandboxConfig, SandboxState

# names other modules and tests import from here
_process_batch = process_batch
__all__ = ["SANDBOX_STATE", "_process_batch", "create_app", "run_sandbox", "seed_consent_now"]


def create_app(config: SandboxConfig | None = None) -> web.Application:
    app = web.Application(middlewares=[sandbox_middleware])
    app[SANDBOX_STATE] = SandboxState(config or SandboxConfig())
    r = app.router
    r.add_post("/oauth2/token", tokens.token)
    for prefix in ("", "/v2"):
        base = prefix + "/sps/{iys}/brands/{brand}/consents"
        r.add_post(base, consents.add_consent)
        r.add_post(base + "/request", batches.add_batch)
        r.add_get(base + "/request/{request_id}", batches.batch_result)
    base = "/sps/{iys}/brands/{brand}/consents"
    r.add_post(base + "/status", consents.consent_status)
    r.add_post(base + "/{recipient_type}/status/{type}", consents.batch_status)
    r.add_get(base + "/changes", feed.changes)
    brand = "/sps/{iys}/brands/{brand}"
    r.add_post(brand + "/push/registration", push.register)
    r.add_get(brand + "/push/registration", push.list_registrations)
    r.add_post(brand + "/push/unregistration", push.unregister)
    reconciliation.add_routes(r, brand)
    r.add_get("/_sandbox/state", admin.admin_state)
    r.add_post("/_sandbox/clock", admin.admin_clock)
    r.add_post("/_sandbox/faults", admin.admin_faults)
    r.add_post("/_sandbox/citizen-change", admin.admin_citizen_change)
    r.add_post("/_sandbox/seed", admin.admin_seed)
    r.add_post("/_sandbox/reset", admin.admin_reset)
    return app


async def run_sandbox(host: str, port: int, config: SandboxConfig | None = None) -> None:
    """Serve the sandbox on ``host:port`` until cancelled."""
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await asyncio.Event().wait()
    finally:
        app[SANDBOX_STATE].stopping.set()
        await runner.cleanup()

"""The request pipeline around every İYS handler: due batches, faults, H124, counters.

Order per request (the knobs are documented on ``state.Faults``): due batches are processed,
``/_sandbox/`` admin calls pass straight through, then outage window → latency → hang →
injected error → per-second limit (429 H124, checked up front as İYS does in practice, §4)
→ handler → lost answer. Every İYS request is counted as "METHOD /route STATUS".
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from aiohttp import web

from iys_push.sandbox.batches import process_due_batches
from iys_push.sandbox.http_common import SANDBOX_STATE, errors
from iys_push.sandbox.rules import error
from iys_push.sandbox.state import FAULT_STATUS, Faults, SandboxState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def _injected(code: str) -> web.Response:
    return errors(FAULT_STATUS.get(code, 500), error(code))


def _pick_error(faults: Faults) -> str | None:
    if faults.next_errors:
        return faults.next_errors.popleft()
    for code, probability in faults.error_rates.items():
        if random.random() < probability:
            return code
    if faults.error_rate and random.random() < faults.error_rate:
        return faults.error_code
    return None


async def _with_faults(state: SandboxState, request: web.Request,
                       handler: Handler) -> web.StreamResponse:
    f = state.faults
    if f.latency or f.jitter:
        await asyncio.sleep(f.latency + random.uniform(0, f.jitter))
    targeted = f.path_contains in request.path
    if targeted and f.hang_next > 0:
        f.hang_next -= 1
        # longer than the client's timeout; if the server still runs afterwards the request
        # is processed, so the client cannot know whether it was written (use v2 resends)
        try:
            await asyncio.wait_for(state.stopping.wait(), f.hang_seconds)
            return errors(503, error("H192"))  # the sandbox is shutting down: let go
        except TimeoutError:
            pass
    code = _pick_error(f) if targeted else None
    if code is not None:
        return _injected(code)
    if state.over_rate(request.remote or "?"):
        return errors(429, error("H124"))
    response = await handler(request)
    if targeted and f.lose_next > 0 and response.status < 400:
        f.lose_next -= 1
        return _injected("H103")  # written, but the answer never arrives intact
    return response


@web.middleware
async def sandbox_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[SANDBOX_STATE]
    process_due_batches(state)
    if request.path.startswith("/_sandbox/"):
        return await handler(request)
    name = f"{request.method} {_route(request)}"
    f, now = state.faults, state.clock.now()
    if f.outage_from and f.outage_until and f.outage_from <= now < f.outage_until:
        if f.outage_mode == "reset" and request.transport is not None:
            state.requests[f"{name} reset"] += 1
            request.transport.abort()  # the client sees the connection drop, no answer
            return web.Response(status=503)
        state.requests[f"{name} 503"] += 1
        return errors(503, error("H192"))
    response = await _with_faults(state, request, handler)
    state.requests[f"{name} {response.status}"] += 1
    return response

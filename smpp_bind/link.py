"""Keep one SMPP link bound: reconnect with exponential backoff and jitter after any end."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from smpp_bind import pdu
from smpp_bind.backoff import Attempts, Backoff
from smpp_bind.commit import ThrottleLog
from smpp_bind.sender import ReplyOutbox
from smpp_bind.session import (
    BindRefused,
    LinkClosed,
    Session,
    SessionMetrics,
    Sink,
    StateCallback,
)
from smpp_bind.settings import LinkSettings

log = structlog.get_logger(__name__)

# Refusals that will not go away by retrying soon: wait the longest backoff before trying.
_PERMANENT_BIND_ERRORS = {pdu.ESME_RINVPASWD, pdu.ESME_RINVSYSID, pdu.ESME_RBINDFAIL}


async def run_link(settings: LinkSettings, sink: Sink, *, metrics: SessionMetrics | None = None,
                   on_state: StateCallback | None = None,
                   outbox: ReplyOutbox | None = None) -> None:
    """Keep one link bound until cancelled: reconnect with backoff and jitter after any end."""
    metrics = metrics or SessionMetrics()
    backoff = Attempts(Backoff(first=settings.reconnect_min, cap=settings.reconnect_max))
    link_log = log.bind(link=settings.name)
    throttle_log = ThrottleLog()  # once a second for the link, whichever session throttles
    first = True

    async def state(value: str) -> None:
        metrics.bound(settings.name, value == "bound")
        if on_state is not None:
            result = on_state(settings.name, value)
            if asyncio.iscoroutine(result):
                await result

    while True:
        if not first:
            metrics.reconnect(settings.name)
        first = False
        session = Session(settings, sink, metrics=metrics, outbox=outbox,
                          throttle_log=throttle_log)
        await state("connecting")
        delay: float
        try:
            await session.run(on_bound=lambda: state("bound"))
            link_log.info("session ended; reconnecting")
            backoff.reset()
            delay = backoff.next_delay()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.unbind(), 2)
            await state("down")
            raise
        except BindRefused as exc:
            name = pdu.status_name(exc.status)
            metrics.bind_failed(settings.name, name)
            # a wrong password will not fix itself: do not hammer the SMSC with it
            delay = (backoff.longest() if exc.status in _PERMANENT_BIND_ERRORS
                     else backoff.next_delay())
            link_log.error("bind refused", status=name, retry_in=round(delay, 1))
        except (OSError, TimeoutError, LinkClosed, pdu.PduError,
                asyncio.IncompleteReadError) as exc:
            delay = backoff.next_delay()
            link_log.warning("link down", error=f"{type(exc).__name__}: {exc}",
                             retry_in=round(delay, 2))
        await state("down")
        await asyncio.sleep(delay)

"""Sending confirmation replies over a bound transceiver session.

What to reply is decided elsewhere (keywords render it, the pipeline stores it in the same
transaction as the message). This loop only makes sending reliable: it takes due replies
from an outbox, splits and encodes them (:func:`smpp_bind.segment.segment_text`), keeps the
link's send rate, backs off on ``ESME_RTHROTTLED`` and reports each reply's fate back.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog

from smpp_bind import pdu
from smpp_bind.backoff import Attempts, Backoff
from smpp_bind.segment import segment_text

if TYPE_CHECKING:
    from smpp_bind.session import Session

log = structlog.get_logger(__name__)

THROTTLE_BACKOFF = Backoff(first=1.0, cap=30.0)  # submit_sm answered ESME_RTHROTTLED
# temporary statuses worth retrying later (the SMSC is busy or its queue is full)
_RETRYABLE = {pdu.ESME_RTHROTTLED, 0x00000014, pdu.ESME_RSYSERR, pdu.ESME_RX_T_APPN}


@dataclass(frozen=True)
class OutgoingSms:
    id: int
    source_addr: str        # the number the recipient wrote to
    destination_addr: str   # the recipient, E.164
    text: str


class ReplyOutbox(Protocol):
    wake: asyncio.Event

    async def due(self, link: str, limit: int) -> list[OutgoingSms]: ...
    async def sent(self, sms_id: int, message_ids: list[str]) -> None: ...
    async def failed(self, sms_id: int, error: str, retry_in: float | None) -> None: ...


class RateLimiter:
    """At most ``rate`` submissions a second, evenly spaced."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if self.next_at > now:
            await asyncio.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


async def send_replies(session: Session, outbox: ReplyOutbox, link: str, rate: float,
                       poll_interval: float = 1.0) -> None:
    """Until cancelled: submit due replies through ``session``."""
    limiter = RateLimiter(rate)
    while True:
        batch = await outbox.due(link, 20)
        if not batch:
            outbox.wake.clear()
            try:
                await asyncio.wait_for(outbox.wake.wait(), poll_interval)
            except TimeoutError:
                pass
            continue
        for sms in batch:
            await _send_one(session, outbox, sms, limiter)


async def _send_one(session: Session, outbox: ReplyOutbox, sms: OutgoingSms,
                    limiter: RateLimiter) -> None:
    message_ids: list[str] = []
    throttled = Attempts(THROTTLE_BACKOFF)
    for segment in segment_text(sms.text, reference=random.randrange(256)):
        while True:
            await limiter.wait()
            status, message_id = await session.submit(
                sms.source_addr, sms.destination_addr, segment.data_coding, segment.esm_class,
                segment.short_message)
            if status == pdu.ESME_ROK:
                message_ids.append(message_id)
                break
            if status == pdu.ESME_RTHROTTLED:
                # the SMSC asks us to slow down: wait, then send the same part again
                delay = throttled.next_delay()
                log.warning("submit_sm throttled", retry_in=round(delay, 2))
                await asyncio.sleep(delay)
                continue
            retry_in = 60.0 if status in _RETRYABLE else None
            await outbox.failed(sms.id, pdu.status_name(status), retry_in)
            return
    await outbox.sent(sms.id, message_ids)

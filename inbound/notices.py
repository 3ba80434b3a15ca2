"""E-mail notices for people without a CRM (issue #32 item 6), over SMTP with aiosmtplib.

An owner's users subscribe an address (``iys-inbound notices subscribe``) to a daily digest
(at ``digest_hour`` Turkey time: the last day per brand) and to immediate notices: a RET
within 24 h of its deadline, a review item waiting, an event İYS refused, a key the daily
reconciliation changed. Each item is mailed once per subscription (``notice_sent``); one
process sends at a time (an advisory lock held for the round). A crash between sending and
recording may send one mail twice, never none.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import asyncpg
import structlog
from prometheus_client import Counter

from inbound import sqlfile
from inbound.db import DATABASE_ERRORS
from iys_push.timefmt import TR
from smpp_bind.addresses import mask_msisdn

log = structlog.get_logger(__name__)
SQL = sqlfile.load("inbound", "sql/notices.sql")
KINDS = ("ret_deadline", "review", "failed", "drift")


# name@domain.tld: no space, control character or second @ (the API's schema says the same)
EMAIL_PATTERN = r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$"
_EMAIL = re.compile(EMAIL_PATTERN)


def valid_email(email: str) -> bool:
    """An address worth mailing (the page and the API check the same way)."""
    return len(email) <= 254 and _EMAIL.fullmatch(email) is not None
LOCK = 0x6E6F7469  # 'noti': one sender at a time

SENT = Counter("iys_inbound_notices_sent_total", "E-mail notices sent, by kind (digest or "
               "immediate)", ["kind"])
FAILURES = Counter("iys_inbound_notice_failures_total", "E-mail notices the SMTP server did "
                   "not take (retried next round)")

SUBJECTS = {
    "immediate": "İYS: ilgilenmeniz gereken {n} kayıt",
    "digest": "İYS günlük özet, {day}",
}
LINES = {
    "ret_deadline": "RET, İYS süresine 24 saatten az kaldı",
    "review": "İnceleme bekliyor (olası ret)",
    "failed": "İYS reddetti",
    "drift": "Mutabakat İYS kaydını değiştirdi",
}


@dataclass(frozen=True)
class SmtpSettings:
    """The [smtp] table (one default source: these). No host: no notices are sent."""

    host: str = ""
    port: int = 587
    from_address: str = "iys-inbound@localhost"
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True
    use_tls: bool = False
    timeout: float = 30.0
    digest_hour: int = 8                 # Turkey time
    interval: float = 60.0               # seconds between rounds


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Notifier:
    pool: asyncpg.Pool
    smtp: SmtpSettings
    clock: Callable[[], datetime] = utc_now

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.smtp.from_address
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(
            message, hostname=self.smtp.host, port=self.smtp.port,
            username=self.smtp.username or None, password=self.smtp.password or None,
            start_tls=self.smtp.starttls and not self.smtp.use_tls,
            use_tls=self.smtp.use_tls, timeout=self.smtp.timeout)

    async def _mail_once(self, sub: Any, items: list[str], subject: str, body: str,
                         kind: str) -> bool:
        try:
            await self.send(sub["email"], subject, body)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            FAILURES.inc()
            log.warning("e-mail notice not sent; will retry", subscription=sub["id"],
                        error=str(exc)[:200])
            return False
        await self.pool.execute(SQL.mark_sent, sub["id"], items, self.clock())
        SENT.labels(kind).inc()
        return True

    async def immediate(self, sub: Any, now: datetime) -> bool:
        rows = [r for r in await self.pool.fetch(SQL.immediate_items, sub["owner_id"],
                                                 sub["created_at"], now)
                if r["kind"] in sub["immediate"]]
        if not rows:
            return False
        done = {r["item"] for r in await self.pool.fetch(
            SQL.already_sent, sub["id"], [r["item"] for r in rows])}
        new = [r for r in rows if r["item"] not in done]
        if not new:
            return False
        lines = [f"- {LINES[r['kind']]}: {r['brand_id']} {mask_msisdn(r['recipient'])} "
                 f"({r['at'].astimezone(TR):%Y-%m-%d %H:%M})" for r in new]
        body = ("Aşağıdaki kayıtlar ilginizi bekliyor (numaralar maskeli; ayrıntı web "
                "sayfasında ve API'de):\n\n" + "\n".join(lines) + "\n")
        return await self._mail_once(sub, [r["item"] for r in new],
                                     SUBJECTS["immediate"].format(n=len(new)), body,
                                     "immediate")

    async def digest(self, sub: Any, now: datetime) -> bool:
        local = now.astimezone(TR)
        if not sub["digest"] or local.hour < self.smtp.digest_hour:
            return False
        item = f"digest:{local:%Y-%m-%d}"
        if await self.pool.fetch(SQL.already_sent, sub["id"], [item]):
            return False
        rows = await self.pool.fetch(SQL.digest_counts, sub["owner_id"],
                                     now - timedelta(days=1))
        lines = [f"- {r['brand_id']}: {r['received']} yeni, {r['accepted']} İYS'de, "
                 f"{r['failed']} reddedildi, {r['pending']} bekliyor, {r['review']} "
                 "inceleme bekliyor" for r in rows] or ["- son 24 saatte hareket yok"]
        body = "Son 24 saat, markalarınız:\n\n" + "\n".join(lines) + "\n"
        return await self._mail_once(sub, [item], SUBJECTS["digest"].format(
            day=f"{local:%Y-%m-%d}"), body, "digest")

    async def round(self) -> int:
        """Every subscription's new items and due digest; how many mails were sent."""
        now = self.clock()
        sent = 0
        async with self.pool.acquire() as conn:
            if not await conn.fetchval(SQL.sender_try_lock, LOCK):
                return 0
            try:
                for sub in await conn.fetch(SQL.subscriptions):
                    sent += await self.immediate(sub, now)
                    sent += await self.digest(sub, now)
            finally:
                await conn.execute(SQL.sender_unlock, LOCK)
        return sent

    async def run_forever(self) -> None:
        while True:
            try:
                await self.round()
            except DATABASE_ERRORS as exc:
                log.warning("notice round failed; will retry", error=str(exc))
            await asyncio.sleep(self.smtp.interval)

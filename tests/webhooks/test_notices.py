"""E-mail notices over SMTP (aiosmtplib) to a real SMTP server (aiosmtpd): immediate
notices once per item, the daily digest once a day after its hour, only the owner's brands,
and an SMTP outage retried."""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from inbound import notices
from inbound.notices import Notifier, SmtpSettings
from tests.api.conftest import add_message
from tests.webhooks.conftest import FakeClock, Owners


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Any:
    inbox = Inbox()
    with socket.socket() as sock:     # aiosmtpd's Controller cannot take port 0
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def text_of(message: Message) -> str:
    assert isinstance(message, EmailMessage)
    return str(message.get_content())


async def test_immediate_notices_once_each_and_only_the_owners_brands(
        owners: Owners, smtp: Any) -> None:
    inbox, port = smtp
    pool = owners.pool
    clock = FakeClock(datetime(2026, 12, 3, 3, 0, tzinfo=UTC))   # 06:00 in Turkey
    await pool.execute("INSERT INTO notice_subscription (owner_id, email, created_at) "
                       "VALUES ($1, 'uyum@acme.example', $2)", owners.a,
                       clock() - timedelta(hours=1))
    # a RET of acme near its deadline, and one of kuzey (owner B): only acme's is mailed
    near = clock() + timedelta(hours=5)
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending", at=near - timedelta(days=3))
    await add_message(pool, sender="+905321234568", text="RET KUZEY", brand="kuzey",
                      state="pending", at=near - timedelta(days=3))
    notifier = Notifier(pool, SmtpSettings(host="127.0.0.1", port=port, starttls=False),
                        clock=clock)
    assert await notifier.round() == 1
    [mail] = inbox.messages
    assert mail["To"] == "uyum@acme.example" and "1 kayıt" in str(mail["Subject"])
    body = text_of(mail)
    assert "acme" in body and "kuzey" not in body and "+905321234567" not in body
    assert await notifier.round() == 0          # the same item is not mailed again
    await pool.execute("UPDATE consent_event SET state = 'failed', updated_at = $1 "
                       "WHERE brand_id = 'acme'", clock())
    assert await notifier.round() == 1
    assert "İYS reddetti" in text_of(inbox.messages[-1])


async def test_daily_digest_after_its_hour_once_a_day(owners: Owners, smtp: Any) -> None:
    inbox, port = smtp
    pool = owners.pool
    clock = FakeClock(datetime(2026, 12, 3, 3, 0, tzinfo=UTC))   # 06:00 in Turkey
    await pool.execute("INSERT INTO notice_subscription (owner_id, email, immediate) "
                       "VALUES ($1, 'rapor@acme.example', '{}')", owners.a)
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      at=clock() - timedelta(hours=2))
    notifier = Notifier(pool, SmtpSettings(host="127.0.0.1", port=port, starttls=False,
                                           digest_hour=8), clock=clock)
    assert await notifier.round() == 0          # before 08:00 Turkey time
    clock.advance(hours=3)
    assert await notifier.round() == 1
    assert "günlük özet, 2026-12-03" in str(inbox.messages[0]["Subject"])
    assert "acme" in text_of(inbox.messages[0])
    clock.advance(hours=5)
    assert await notifier.round() == 0          # once a day
    clock.advance(days=1)
    assert await notifier.round() == 1


async def test_an_smtp_outage_is_retried(owners: Owners) -> None:
    pool = owners.pool
    await pool.execute("INSERT INTO notice_subscription (owner_id, email, digest, created_at) "
                       "VALUES ($1, 'uyum@acme.example', false, now() - interval '1 hour')",
                       owners.a)
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="review", at=datetime.now(UTC))
    failures = notices.FAILURES._value.get()
    dead = Notifier(pool, SmtpSettings(host="127.0.0.1", port=1, starttls=False, timeout=2))
    assert await dead.round() == 0
    assert notices.FAILURES._value.get() == failures + 1
    assert await pool.fetchval("SELECT count(*) FROM notice_sent") == 0

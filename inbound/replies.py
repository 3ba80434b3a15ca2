"""The transceiver links' reply outbox, backed by ``sms_out`` (see smpp_bind.sender)."""

from __future__ import annotations

import asyncio

import asyncpg

from inbound import store
from smpp_bind.sender import OutgoingSms


class PgReplyOutbox:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.wake = asyncio.Event()  # set by the pipeline after it committed new replies

    async def due(self, link: str, limit: int) -> list[OutgoingSms]:
        rows = await self.pool.fetch(store.SQL.due_replies, link, limit)
        return [OutgoingSms(r["id"], r["source_addr"], r["recipient"], r["text"]) for r in rows]

    async def sent(self, sms_id: int, message_ids: list[str]) -> None:
        await self.pool.execute(store.SQL.reply_sent, sms_id, message_ids)

    async def failed(self, sms_id: int, error: str, retry_in: float | None) -> None:
        await self.pool.execute(store.SQL.reply_failed, sms_id, error, retry_in)

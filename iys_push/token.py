"""The İYS access token, shared by every process through PostgreSQL.

İYS allows about ten token calls an hour per IP, and a call made during the penalty hour
that follows H084 restarts that hour (IYS_API.md §1.3). So:

* the token lives in ``iys_token`` and every process reuses it; the row lock makes one
  process fetch while the others wait and then read what it stored;
* it is renewed five minutes before it expires, with the (rotating) refresh token while that
  is valid, else with the password grant;
* after H084 the row says ``halted_until`` = one hour later and no process calls before;
* after a 401 only the token that failed is forgotten: if another process already stored a
  newer one, that is used and no token call is made;
* a failed token call pauses token calls of this process for a moment, so the requests
  waiting for a token do not each make a call of their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import structlog

from iys_push import metrics, store

if TYPE_CHECKING:
    from iys_push.client import Answer

log = structlog.get_logger(__name__)

RENEW_BEFORE = timedelta(minutes=5)
REFRESH_MARGIN = timedelta(seconds=30)
HALT = timedelta(hours=1)
PAUSE_AFTER_FAILURE = 2.0  # seconds

TokenCall = Callable[[dict[str, str]], Awaitable["Answer"]]


class TokenHalted(Exception):
    """No token call may be made before ``until`` (after H084)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"İYS token calls halted until {until.isoformat()} (H084)")
        self.until = until


class TokenUnavailable(ConnectionError):
    """The token call failed for a reason worth retrying later."""


@dataclass(frozen=True)
class _Halt:
    until: datetime


class SharedToken:
    def __init__(self, pool: asyncpg.Pool, account: str, username: str, password: str,
                 call: TokenCall) -> None:
        self.pool = pool
        self.account = account
        self._username = username
        self._password = password
        self._call = call
        self._cached: tuple[str, datetime] | None = None
        self._lock = asyncio.Lock()
        self._failed_at = -1e9

    def _fresh(self, token: str | None, expires: datetime | None) -> bool:
        return bool(token) and expires is not None and expires - RENEW_BEFORE > datetime.now(UTC)

    async def get(self) -> str:
        """A valid access token (from memory, the database, or one token call)."""
        if self._cached and self._fresh(*self._cached):
            return self._cached[0]
        async with self._lock:
            if self._cached and self._fresh(*self._cached):
                return self._cached[0]
            if time.monotonic() - self._failed_at < PAUSE_AFTER_FAILURE:
                raise TokenUnavailable("İYS token unavailable (the last call failed just now)")
            try:
                result = await self._from_database_or_fetch()
            except TokenUnavailable:
                self._failed_at = time.monotonic()
                metrics.TOKEN_STATE.set(0)
                raise
            if isinstance(result, _Halt):
                metrics.TOKEN_STATE.set(2)
                raise TokenHalted(result.until)
            metrics.TOKEN_STATE.set(1)
            return result

    async def invalidate(self, token: str) -> None:
        """İYS refused ``token`` (401): forget it here and in the database."""
        self._cached = None
        await self.pool.execute(store.SQL.forget_access, self.account, token)

    async def _from_database_or_fetch(self) -> str | _Halt:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(store.SQL.ensure_token_row, self.account)
            row = await conn.fetchrow(store.SQL.token_for_update, self.account)
            if self._fresh(row["access_token"], row["access_expires_at"]):
                self._cached = (row["access_token"], row["access_expires_at"])
                return row["access_token"]
            now = datetime.now(UTC)
            if row["halted_until"] and row["halted_until"] > now:
                return _Halt(row["halted_until"])
            password = {"grant_type": "password", "username": self._username,
                        "password": self._password}
            refresh_ok = (row["refresh_token"] and row["refresh_expires_at"]
                          and row["refresh_expires_at"] > now + REFRESH_MARGIN)
            grant = ({"grant_type": "refresh_token", "refresh_token": row["refresh_token"]}
                     if refresh_ok else password)
            answer = await self._call(grant)
            if answer.status == 400 and grant is not password:
                # a rotated-away or revoked refresh token: the password grant, once
                answer = await self._call(password)
            if answer.status == 429 and answer.code != "H124":
                # H084, or a 429 we cannot read (the safe reading is the same): a call inside
                # the penalty hour restarts it. Stored in this transaction, which commits.
                until = now + HALT
                await conn.execute(store.SQL.halt_token, self.account, until)
                log.error("İYS token limit reached (H084); no token call for an hour",
                          until=until.isoformat())
                return _Halt(until)
            body = answer.body
            if not answer.ok or not isinstance(body, dict) or not body.get("access_token"):
                raise TokenUnavailable(f"İYS token call failed: HTTP {answer.status} "
                                       f"{answer.code or ''} {answer.message}".strip())
            access_expires = now + timedelta(seconds=int(body.get("expires_in", 7200)))
            refresh_expires = now + timedelta(seconds=int(body.get("refresh_expires_in", 14400)))
            await conn.execute(store.SQL.save_token, self.account, body["access_token"],
                               access_expires, body.get("refresh_token"), refresh_expires)
            self._cached = (body["access_token"], access_expires)
            return body["access_token"]

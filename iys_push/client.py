"""The İYS HTTP client: one shared token, one shared rate limit, every call recorded.

* Token: OAuth2 password grant, then refresh (the refresh token rotates). It lives in
  ``iys_token`` and is shared by every process; a row lock makes one process fetch while the
  others wait and then reuse it. It is renewed five minutes before expiry. After H084 (the
  hourly token limit) no token call is made for a full hour, since a call inside the penalty
  hour restarts it (IYS_API.md §1.3).
* Rate: a token bucket in ``iys_rate`` shared by every process, under İYS's 10 requests/s
  per IP (default 8/s).
* Evidence: every request and response goes to ``iys_attempt`` with its latency.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import structlog

from iys_push import metrics, store

log = structlog.get_logger(__name__)

RENEW_BEFORE = timedelta(minutes=5)
TOKEN_RETRY_PAUSE = 2.0  # seconds
TOKEN_HALT = timedelta(hours=1)


@dataclass(frozen=True)
class IysSettings:
    base_url: str
    username: str
    password: str = field(repr=False)
    timeout: float = 10.0
    requests_per_second: float = 8.0
    batch_threshold: int = 50          # due backlog above which the batch endpoint is used
    batch_poll_delay: float = 300.0    # İYS: poll batch results at least 300 s later
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    pull_interval: float = 3600.0

    @property
    def account(self) -> str:
        return f"{self.username}@{self.base_url}"


class TokenHalted(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"İYS token calls halted until {until.isoformat()} (H084)")
        self.until = until


@dataclass(frozen=True)
class Answer:
    status: int | None           # None: no answer (timeout, connection error)
    body: Any
    code: str | None             # first H-code, if any
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def first_error(body: Any) -> tuple[str | None, str]:
    """The first H-code of an error body (the ``errors[]`` envelope or a flat object)."""
    if isinstance(body, dict):
        items = body.get("errors")
        if isinstance(items, list) and items and isinstance(items[0], dict):
            item = items[0]
            return item.get("code") or item.get("code:"), str(item.get("message", ""))
        if "code" in body:
            return body.get("code"), str(body.get("message", ""))
        if "error" in body:
            return None, f"{body.get('error')}: {body.get('error_description', '')}"
    return None, ""


class IysClient:
    def __init__(self, pool: asyncpg.Pool, settings: IysSettings,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.pool = pool
        self.settings = settings
        self._session = session
        self._token: tuple[str, datetime] | None = None
        self._lock = asyncio.Lock()
        self._token_failed_at = 0.0  # monotonic time of the last failed token call

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # -- token -------------------------------------------------------------------------------
    async def access_token(self, *, force: bool = False) -> str:
        now = datetime.now(UTC)
        if not force and self._token and self._token[1] - RENEW_BEFORE > now:
            return self._token[0]
        async with self._lock:
            if time.monotonic() - self._token_failed_at < TOKEN_RETRY_PAUSE:
                # one failed call answers every waiter for a moment: no burst of token calls
                raise ConnectionError("İYS token unavailable (last call failed just now)")
            try:
                return await self._shared_token(force)
            except ConnectionError:
                self._token_failed_at = time.monotonic()
                raise

    async def _shared_token(self, force: bool) -> str:
        # the halt is written in its own statement after the fetch transaction, so that
        # raising TokenHalted does not roll it back
        result = await self._fetch_token(force)
        if isinstance(result, datetime):
            await self.pool.execute(store.HALT_TOKEN, self.settings.account, result)
            raise TokenHalted(result)
        return result

    async def _fetch_token(self, force: bool) -> str | datetime:
        """The token, or the moment until which token calls are halted (H084)."""
        account = self.settings.account
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(store.LOCK_TOKEN_ROW, account)
            row = await conn.fetchrow(store.TOKEN_FOR_UPDATE, account)  # one fetcher at a time
            now = datetime.now(UTC)
            if (not force and row["access_token"] and row["access_expires_at"]
                    and row["access_expires_at"] - RENEW_BEFORE > now):
                self._token = (row["access_token"], row["access_expires_at"])
                return row["access_token"]
            if row["halted_until"] and row["halted_until"] > now:
                metrics.TOKEN_STATE.set(2)
                return row["halted_until"]
            grant: dict[str, str]
            if row["refresh_token"] and row["refresh_expires_at"] and row[
                    "refresh_expires_at"] > now + timedelta(seconds=30):
                grant = {"grant_type": "refresh_token", "refresh_token": row["refresh_token"]}
            else:
                grant = {"grant_type": "password", "username": self.settings.username,
                         "password": self.settings.password}
            answer = await self._token_call(grant)
            if answer.status == 400 and grant["grant_type"] == "refresh_token":
                # a rotated-away or expired refresh token: fall back to the password once
                answer = await self._token_call({"grant_type": "password",
                                                 "username": self.settings.username,
                                                 "password": self.settings.password})
            if answer.status == 429 and answer.code != "H124":
                # H084 (or a 429 whose body we cannot read: the safe reading is the same):
                # a token call inside the penalty hour would restart it
                until = now + TOKEN_HALT
                metrics.TOKEN_STATE.set(2)
                log.error("İYS token limit reached (H084); no token call for an hour",
                          until=until.isoformat())
                return until
            if not answer.ok or not isinstance(answer.body, dict):
                metrics.TOKEN_STATE.set(0)
                raise ConnectionError(f"İYS token call failed: HTTP {answer.status} "
                                      f"{answer.message}")
            body = answer.body
            access_exp = now + timedelta(seconds=int(body.get("expires_in", 7200)))
            refresh_exp = now + timedelta(seconds=int(body.get("refresh_expires_in", 14400)))
            await conn.execute(store.SAVE_TOKEN, account, body["access_token"], access_exp,
                               body.get("refresh_token"), refresh_exp)
            metrics.TOKEN_STATE.set(1)
            self._token = (body["access_token"], access_exp)
            return body["access_token"]

    async def _token_call(self, grant: dict[str, str]) -> Answer:
        await self._take_rate_token()  # token calls count against the per-IP limit too
        session = await self.session()
        url = self.settings.base_url + "/oauth2/token"
        try:
            async with session.post(url, json=grant) as resp:
                body = await _body(resp)
                code, message = first_error(body)
                metrics.RESPONSES.labels("token", str(resp.status), code or "").inc()
                return Answer(resp.status, body, code, message)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Answer(None, None, None, f"{type(exc).__name__}: {exc}")

    # -- rate --------------------------------------------------------------------------------
    async def _take_rate_token(self) -> None:
        rate = self.settings.requests_per_second
        while True:
            # a bucket of one: in any sliding second at most 1 + rate requests go out (İYS
            # counts a sliding second; a bucket as deep as the rate would allow twice it)
            got = await self.pool.fetchval(store.TAKE_RATE_TOKEN, self.settings.account,
                                           1.0, rate)
            if got is not None:
                return
            await asyncio.sleep(1.0 / rate)

    # -- calls -------------------------------------------------------------------------------
    async def call(self, method: str, path: str, payload: Any = None, *,
                   event_id: int | None = None, endpoint: str = "consent") -> Answer:
        """One API call with the shared token; a 401 renews the token and retries once."""
        answer = await self._call_once(method, path, payload, event_id, endpoint, force=False)
        if answer.status == 401:
            answer = await self._call_once(method, path, payload, event_id, endpoint, force=True)
        return answer

    async def _call_once(self, method: str, path: str, payload: Any, event_id: int | None,
                         endpoint: str, *, force: bool) -> Answer:
        token = await self.access_token(force=force)
        await self._take_rate_token()
        session = await self.session()
        started_at = datetime.now(UTC)
        started = time.monotonic()
        try:
            async with session.request(method, self.settings.base_url + path, json=payload,
                                       headers={"Authorization": f"Bearer {token}"}) as resp:
                body = await _body(resp)
                code, message = first_error(body)
                answer = Answer(resp.status, body, code, message)
        except (TimeoutError, aiohttp.ClientError) as exc:
            answer = Answer(None, None, None, f"{type(exc).__name__}: {exc}")
        latency = time.monotonic() - started
        metrics.REQUEST_SECONDS.labels(endpoint).observe(latency)
        metrics.RESPONSES.labels(endpoint, str(answer.status or "none"), answer.code or "").inc()
        metrics.record_outcome(answer.status)
        await self.pool.execute(
            store.INSERT_ATTEMPT, event_id, started_at, latency * 1000, method, path, payload,
            answer.status, _text(answer.body), answer.code,
            "ok" if answer.ok else ("no_answer" if answer.status is None else "error"))
        return answer


async def _body(resp: aiohttp.ClientResponse) -> Any:
    if resp.status == 204:
        return None
    text = await resp.text()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text(body: Any) -> str | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body
    return json.dumps(body, ensure_ascii=False)

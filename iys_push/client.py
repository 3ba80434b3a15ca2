"""The İYS HTTP client: one shared token, one shared rate limit, every call recorded.

Every request (token calls included, with their secrets masked) goes to ``iys_attempt`` with
its answer and latency, its kind (token, add, batch, batch_result, status, status_date,
pull) and this process's egress label: that table is the evidence of what we told İYS and
when, and the source of the success ratio İYS counts per egress IP (iys_push.gauges). Every
call has a timeout. Bodies follow IYS_API.md: Turkey-time dates, optional fields omitted.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg

from iys_push import metrics, status_budget, store
from iys_push.ratelimit import SharedRateLimit
from iys_push.token import SharedToken, TokenHalted, TokenUnavailable

__all__ = ["Answer", "IysClient", "IysSettings", "TokenHalted", "TokenUnavailable",
           "first_error"]

_SECRET_FIELDS = ("password", "refresh_token")


@dataclass(frozen=True)
class IysSettings:
    base_url: str
    username: str
    password: str = field(repr=False)
    timeout: float = 10.0
    requests_per_second: float = 8.0
    # due backlog above which the batch endpoint is used; None: what single adds clear in one
    # second at requests_per_second. Arrivals near the budget (8 MO/s against 8 requests/s)
    # would otherwise queue up to the threshold: 50 gave a submission p99 of 6.4 s at 8 MO/s.
    batch_threshold: int | None = None
    batch_poll_delay: float = 300.0    # İYS: poll batch results at least 300 s later
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    coalesce: float = 0.25             # busy: wait this long between rounds (gathers NOTIFYs)
    max_events_per_second: float = 1000.0  # the push side's pace (pusher.pause_after)
    # while this process stores more MOs a second than this (0: never), the push side keeps
    # the slower pace yield_events_per_second: acks first (pusher.pause_after)
    yield_to_intake_above: float = 2000.0
    yield_events_per_second: float = 100.0
    # the label of this process's egress IP: İYS counts the success ratio per IP, so
    # processes behind the same IP share one label (iys.egress_label)
    egress_label: str = "default"
    # an event that waited longer than this (seconds since it was received) is checked
    # against İYS's stored date before it is sent: İYS-side movements of the last hour are
    # invisible to the changes feed (pusher._prepare)
    date_check_after: float = 300.0

    @property
    def batch_above(self) -> int:
        if self.batch_threshold is not None:
            return self.batch_threshold
        return max(1, int(self.requests_per_second))

    @property
    def account(self) -> str:
        """The key of the shared token and rate rows (one per İYS API user and host)."""
        return f"{self.username}@{self.base_url}"


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
    """The first H-code of an error body: the ``errors[]`` envelope (whose examples sometimes
    spell the key ``"code:"``), a flat ``{code, message}`` (H084 per one integrator), or the
    OAuth2 shape of ``/oauth2/token``."""
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
        self.rate = SharedRateLimit(pool, settings.account, settings.requests_per_second)
        self.tokens = SharedToken(pool, settings.account, settings.username, settings.password,
                                  self._token_call)

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def access_token(self) -> str:
        return await self.tokens.get()

    # -- the endpoints we use ----------------------------------------------------------------
    async def add_consent(self, iys_code: int, brand_code: int, body: dict[str, Any], *,
                          event_id: int | None = None) -> Answer:
        """v2 single add: an identical resend returns the same transactionId (safe retry)."""
        return await self.call("POST", f"/v2/sps/{iys_code}/brands/{brand_code}/consents",
                               body, event_id=event_id, endpoint="add")

    async def add_batch(self, iys_code: int, brand_code: int,
                        items: list[dict[str, Any]]) -> Answer:
        return await self.call("POST",
                               f"/v2/sps/{iys_code}/brands/{brand_code}/consents/request",
                               items, endpoint="batch")

    async def batch_result(self, iys_code: int, brand_code: int, request_id: str) -> Answer:
        return await self.call(
            "GET", f"/v2/sps/{iys_code}/brands/{brand_code}/consents/request/{request_id}",
            endpoint="batch_result")

    async def onay_recipients(self, iys_code: int, brand_code: int, recipient_type: str,
                              type_: str, recipients: list[str]) -> set[str]:
        """Which of ``recipients`` (≤ 1000) have ONAY in İYS (the batch status endpoint lists
        only those). Raises TokenUnavailable when İYS does not answer properly."""
        answer = await self.call(
            "POST", f"/sps/{iys_code}/brands/{brand_code}/consents/{recipient_type}/status/"
            f"{type_}", {"recipients": recipients}, endpoint="status")
        if not answer.ok or not isinstance(answer.body, dict):
            raise ConnectionError(f"İYS status query failed: HTTP {answer.status} "
                                  f"{answer.code or ''}")
        return {r for r in answer.body.get("list") or [] if isinstance(r, str)}

    async def consent_status(self, iys_code: int, brand_code: int, recipient: str,
                             recipient_type: str, type_: str, *,
                             event_id: int | None = None, budgeted: bool = False) -> Answer:
        """The key's current movement with its consentDate (§2.4; 1000 an hour per IP). Ask
        only for a key known to have a record: İYS's answer for "none" is UNCONFIRMED (the
        sandbox says 404, which would count against the success ratio). Every call counts in
        the shared hourly budget (iys_push.status_budget); ``budgeted``: taken already."""
        if not budgeted:
            await status_budget.record(self.pool, self.settings.account)
        return await self.call(
            "POST", f"/sps/{iys_code}/brands/{brand_code}/consents/status",
            {"recipient": recipient, "recipientType": recipient_type, "type": type_},
            event_id=event_id, endpoint="status_date")

    async def changes(self, iys_code: int, brand_code: int, after: str | None,
                      limit: int = 1000, source: str = "IYS") -> Answer:
        params = {"source": source, "limit": str(limit)}
        if after:
            params["after"] = after
        return await self.call("GET", f"/sps/{iys_code}/brands/{brand_code}/consents/changes",
                               params=params, endpoint="pull")

    # -- the mechanics -------------------------------------------------------------------------
    async def call(self, method: str, path: str, payload: Any = None, *,
                   params: dict[str, str] | None = None, event_id: int | None = None,
                   endpoint: str = "other") -> Answer:
        """One API call with the shared token; after a 401 one renewed token, one retry."""
        token = await self.tokens.get()
        answer = await self._send(method, path, payload, params=params, token=token,
                                  event_id=event_id, endpoint=endpoint)
        if answer.status == 401:
            await self.tokens.invalidate(token)
            token = await self.tokens.get()
            answer = await self._send(method, path, payload, params=params, token=token,
                                      event_id=event_id, endpoint=endpoint)
        return answer

    async def _token_call(self, grant: dict[str, str]) -> Answer:
        masked = {k: ("***" if k in _SECRET_FIELDS else v) for k, v in grant.items()}
        return await self._send("POST", "/oauth2/token", grant, token=None, event_id=None,
                                endpoint="token", recorded=masked)

    async def _send(self, method: str, path: str, payload: Any, *, token: str | None,
                    event_id: int | None, endpoint: str, params: dict[str, str] | None = None,
                    recorded: Any = None) -> Answer:
        await self.rate.acquire()  # token calls count against the per-IP limit too
        session = await self.session()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started_at = datetime.now(UTC)
        started = time.monotonic()
        metrics.REQUESTS.labels(endpoint).inc()
        try:
            async with session.request(method, self.settings.base_url + path, json=payload,
                                       params=params, headers=headers) as resp:
                body = await _body(resp)
                code, message = first_error(body) if resp.status >= 300 else (None, "")
                answer = Answer(resp.status, body, code, message)
        except (TimeoutError, aiohttp.ClientError) as exc:
            answer = Answer(None, None, None, f"{type(exc).__name__}: {exc}")
        latency = time.monotonic() - started
        metrics.REQUEST_SECONDS.labels(endpoint).observe(latency)
        metrics.RESPONSES.labels(endpoint, str(answer.status or "none"), answer.code or "").inc()
        if params:
            path = path + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        outcome = "ok" if answer.ok else ("no_answer" if answer.status is None else "error")
        response = _text(answer.body)
        if endpoint == "token" and answer.ok:
            response = "(tokens issued)"  # never store live credentials as evidence
        await self.pool.execute(store.SQL.insert_attempt, event_id, started_at, latency * 1000,
                                method, path, payload if recorded is None else recorded,
                                answer.status, response, answer.code, outcome,
                                self.settings.egress_label, endpoint)
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

"""``POST /iys/push/{brand}``: İYS's push registration calls this with İYS-side movements
(IYS_API.md §2.8) as they happen, so a citizen's e-Devlet or 3338 RET is in the mirror within
seconds instead of after the hour the changes feed hides.

Like the SMPP path it stores first and answers after: every authenticated request is kept in
``iys_push_inbox`` (raw body, outcome) and each movement once in ``iys_change`` (channel
``iys_push``) and applied to the mirror (iys_push.mirror.apply_movements), in one
transaction, before the 200. İYS gives an endpoint 5 s; this one does one transaction.

- HTTP Basic credentials from configuration ([mirror] push_username, push_password /
  IYS_INBOUND_PUSH_PASSWORD), compared in constant time; with none configured every request
  is refused (401). Unauthenticated requests are logged, not stored (they would let anyone
  fill the table).
- İYS's test payload (``pushtest@iys.org.tr``) is acknowledged and recorded as ``test``; its
  movement is not stored.
- A bad body is a 400 problem+json (stored as ``invalid``), never a 5xx; the valid movements
  of a partly bad body are stored all the same (an opt-out must not wait for its neighbours).
- A rate limit per client address (429 with Retry-After); repeats and bursts store each
  movement once (the unique key of iys_change).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from inbound.api.problems import Problem
from iys_push import mirror
from iys_push.mirror_settings import MirrorSettings

log = structlog.get_logger(__name__)

BODY_LIMIT = 1024 * 1024
TEST_RECIPIENT = "pushtest@iys.org.tr"   # İYS's test payload (§2.8)
ATTEMPTS = 3                              # a deadlock between two bursts: tried again


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Inbox:
    pool: asyncpg.Pool
    settings: MirrorSettings
    clock: Any = time.monotonic
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def allowed(self, address: str) -> bool:
        """A token bucket per address: push_requests_per_second, bursts of twice that."""
        rate = self.settings.push_requests_per_second
        depth = max(1.0, 2 * rate)
        now = self.clock()
        bucket = self.buckets.get(address)
        if bucket is None:
            if len(self.buckets) > 10_000:
                self.buckets.clear()
            bucket = self.buckets[address] = _Bucket(depth, now)
        bucket.tokens = min(depth, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def authenticated(self, header: str) -> bool:
        user, password = self.settings.push_username, self.settings.push_password
        if not (user and password) or not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{user}:{password}".encode()
        return hmac.compare_digest(given, expected)


INBOX: web.AppKey[Inbox] = web.AppKey("iys_inbox", Inbox)


def _unauthorised() -> web.Response:
    return Problem(401, "HTTP Basic credentials required (the ones given to İYS at push "
                   "registration)", headers={"WWW-Authenticate": 'Basic realm="iys-push"'}
                   ).response()


async def _record(inbox: Inbox, brand_id: str, remote: str, outcome: str, detail: str,
                  body: str, movements: int = 0, new_rows: int = 0) -> None:
    await inbox.pool.execute(mirror.SQL.insert_inbox, brand_id, remote, outcome, movements,
                             new_rows, detail[:2000], body)


async def receive(request: web.Request) -> web.Response:
    inbox = request.app[INBOX]
    remote = request.remote or ""
    if not inbox.allowed(remote):
        return Problem(429, "too many requests from this address",
                       headers={"Retry-After": "1"}).response()
    if not inbox.authenticated(request.headers.get("Authorization", "")):
        log.warning("iys push: refused without valid credentials", remote=remote)
        return _unauthorised()
    brand_id = request.match_info["brand"]
    brand = await inbox.pool.fetchrow(mirror.SQL.brand_by_id, brand_id)
    if brand is None:
        log.warning("iys push: unknown brand", brand=brand_id[:63])
        return Problem(404, "unknown brand").response()
    raw = await _read(request)
    if len(raw) > BODY_LIMIT:
        await _record(inbox, brand_id, remote, "invalid", "body over 1 MiB",
                      _printable(raw[:BODY_LIMIT]))
        return Problem(413, "body over 1 MiB").response()
    text = _printable(raw)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    items = body.get("list") if isinstance(body, dict) else None
    if not isinstance(items, list):
        await _record(inbox, brand_id, remote, "invalid", "not {\"list\": [...]}", text)
        return Problem(400, 'expected a JSON object {"list": [movements]}',
                       errors=[{"field": "list", "reason": "missing or not a list"}]).response()
    if items and all(isinstance(i, dict) and i.get("recipient") == TEST_RECIPIENT
                     for i in items):
        await _record(inbox, brand_id, remote, "test", "İYS's test payload", text, len(items))
        log.info("iys push: test payload acknowledged", brand=brand_id)
        return web.json_response({"message": "test payload received; not stored"})
    movements, errors = _movements(items, brand)
    applied = await _store(inbox, brand, movements)
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    await _record(inbox, brand_id, remote, "invalid" if errors else "stored", detail, text,
                  len(items), applied.new)
    log.info("iys push: movements stored", brand=brand_id, received=len(items),
             new=applied.new, refused=len(errors))
    if errors:
        return Problem(400, f"{len(errors)} of {len(items)} items are not İYS movements; "
                       f"the other {len(movements)} were stored", errors=errors).response()
    return web.json_response({"received": len(items), "new": applied.new})


def _movements(items: list[Any], brand: asyncpg.Record
               ) -> tuple[list[mirror.Movement], list[dict[str, str]]]:
    movements, errors = [], []
    for i, item in enumerate(items):
        try:
            m = mirror.movement_of(item)
            for name, own in (("brandCode", brand["brand_code"]), ("iysCode", brand["iys_code"])):
                given = item.get(name)
                if given is not None and str(given) != str(own):
                    raise mirror.BadMovement(f"{name}: not this brand's ({own})")
            movements.append(m)
        except mirror.BadMovement as exc:
            errors.append({"field": f"list[{i}]", "reason": str(exc)})
    return movements, errors


async def _store(inbox: Inbox, brand: asyncpg.Record,
                 movements: list[mirror.Movement]) -> mirror.Applied:
    for attempt in range(ATTEMPTS):
        try:
            async with inbox.pool.acquire() as conn, conn.transaction():
                applied = await mirror.apply_movements(conn, brand["brand_code"], movements,
                                                       "iys_push")
                if movements:
                    await conn.execute(mirror.SQL.mark_pushed, brand["brand_code"])
                return applied
        except asyncpg.DeadlockDetectedError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _read(request: web.Request) -> bytes:
    """The body, up to BODY_LIMIT + 1 bytes (more is not read)."""
    chunks, size = [], 0
    while size <= BODY_LIMIT:
        chunk = await request.content.read(BODY_LIMIT + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _printable(raw: bytes) -> str:
    # PostgreSQL text holds no NUL; undecodable bytes are shown, not dropped
    return raw.decode("utf-8", errors="replace").replace("\x00", "\\u0000")


def setup_iys_inbox(app: web.Application, pool: asyncpg.Pool,
                    settings: MirrorSettings | None) -> None:
    """Add ``POST /iys/push/{brand}`` to ``app``."""
    app[INBOX] = Inbox(pool, settings or MirrorSettings())
    app.router.add_post("/iys/push/{brand}", receive)

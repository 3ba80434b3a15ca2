"""Owner sign-in for the web page: passwords, sessions, CSRF tokens and lock-out.

* Passwords are hashed with Argon2id (``argon2-cffi``; OWASP's parameters: 19 MiB, two
  passes, one lane) and stored as the PHC string it makes. Hashes made by the first version
  (scrypt, ``$scrypt$ln=14,r=8,p=1$<salt>$<hash>``) still verify and are replaced at the next
  sign-in, unless the password changed meanwhile. Hashing runs on a dedicated two-thread
  executor: a flood of sign-in attempts (anyone can post the form) then queues there, and
  costs at most two cores' worth of hashing and 2 × 19 MiB, instead of stalling the event
  loop (SMPP acks) or the default executor (DNS lookups for İYS).
* A session is a random token in an ``HttpOnly; SameSite=Strict`` cookie, signed with the
  service's secret (HMAC-SHA256) so that a forged cookie is refused before any database
  lookup; the database keeps only the token's SHA-256, the owner and the session's CSRF token.
* Every POST carries the CSRF token (form field ``csrf`` or header ``X-CSRF-Token``); the
  sign-in form, used before there is a session, gets one bound to a pre-session cookie.
* ``MAX_FAILURES`` failed sign-ins in a row with one e-mail address lock that address for
  ``LOCK_MINUTES``, whether or not an owner has it: counted by the address's SHA-256 in
  ``web_sign_in_failure``. Every attempt, locked or not, known address or not, runs the same
  statements and one Argon2 verification (against a dummy hash when there is no account),
  so neither the answer, nor its time, nor the lock-out tells which addresses have accounts.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from inbound.api.admin import audit
from inbound.web import queries

_T = TypeVar("_T")

SESSION_COOKIE = "iys_session"
LOGIN_COOKIE = "iys_login"
SESSION_HOURS = 8
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-hash")


async def _in_hash_pool(fn: Callable[..., _T], *args: Any) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, fn, *args)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


_DUMMY: list[str] = []


def dummy_hash() -> str:
    """An Argon2 hash of a random password nobody knows, made once with the same
    parameters as real ones: verifying against it costs what a real verification costs."""
    if not _DUMMY:
        _DUMMY.append(_HASHER.hash(secrets.token_urlsafe(32)))
    return _DUMMY[0]


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; a missing or unreadable hash never does
    (but costs the same time, so unknown e-mails cannot be told from wrong passwords)."""
    if not stored:
        try:
            _HASHER.verify(dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    if stored.startswith("$scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_async(password: str, stored: str | None) -> bool:
    """:func:`verify_password` on the hashing threads (never on the event loop)."""
    return await _in_hash_pool(verify_password, password, stored)


async def hash_async(password: str) -> str:
    return await _in_hash_pool(hash_password, password)


def needs_rehash(stored: str) -> bool:
    return stored.startswith("$scrypt$") or _HASHER.check_needs_rehash(stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, scheme, settings, salt, digest = stored.split("$")
        opts = dict(item.split("=") for item in settings.split(","))
        computed = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt),
                                  n=2 ** int(opts["ln"]), r=int(opts["r"]), p=int(opts["p"]),
                                  maxmem=64 * 1024 * 1024, dklen=len(_unb64(digest)))
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(computed, _unb64(digest))


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise ValueError("a password may have at most 1024 characters")


async def set_password(pool: asyncpg.Pool, owner_id: int, password: str) -> bool:
    """Set (or reset) an owner's password (the CLI): its admin user of the owner's e-mail
    gets it, made when missing; ends the owner's sessions and lifts a lock. False when
    there is no such owner (or it has no e-mail); ValueError for a too short password."""
    check_new_password(password)
    hashed = await _in_hash_pool(hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries.SQL.set_password, owner_id, hashed)
        if row is None:
            return False
        email = row["email"]
        await conn.execute(queries.SQL.delete_owner_sessions, owner_id)
        await conn.execute(queries.SQL.sign_in_succeeded, email_digest(email))
        await audit(conn, actor_token_id=None, actor_owner_id=None, actor_admin=True,
                    action="update", resource="owner", resource_id=str(owner_id),
                    owner_ids=[owner_id], before=None, after={"web_password": "set"})
    return True


# -- signed values ------------------------------------------------------------------------

def sign(secret: bytes, value: str, purpose: str) -> str:
    mac = hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return f"{value}.{_b64(mac)}"


def unsign(secret: bytes, signed: str | None, purpose: str) -> str | None:
    if not signed or "." not in signed or len(signed) > 200:
        return None
    value, _, _ = signed.rpartition(".")
    return value if hmac.compare_digest(sign(secret, value, purpose), signed) else None


def login_csrf(secret: bytes, pre_session: str) -> str:
    return _b64(hmac.new(secret, f"login-csrf:{pre_session}".encode(), hashlib.sha256).digest())


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


# -- sessions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Session:
    owner_id: int
    name: str            # the owner's
    email: str | None    # the user's
    csrf: str
    token_hash: bytes
    user_id: int = 0
    user_name: str = ""
    role: str = "viewer"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def email_digest(email: str) -> bytes:
    return hashlib.sha256(email.strip().lower()[:320].encode("utf-8", "replace")).digest()


def mask_email(email: str) -> str:
    """For the log: ``i***@acme.example`` (enough to recognise one's own, not to harvest)."""
    local, at, domain = email.strip()[:320].partition("@")
    return f"{local[:1]}***{at}{domain}" if at else f"{local[:1]}***"


async def sign_in(pool: asyncpg.Pool, email: str, password: str) -> int | str:
    """The user id (``web_user``), or why not: ``"invalid"`` (wrong password or unknown
    e-mail, the same), ``"locked"`` (the address is locked) or ``"locked_now"`` (this
    failure locked it)."""
    digest = email_digest(email)
    looked_up = email.strip()[:320]
    if "\x00" in looked_up:  # no stored address has one (PostgreSQL cannot even compare it)
        looked_up = ""
    row = await pool.fetchrow(queries.SQL.sign_in, digest, looked_up)
    stored = row["password_hash"]
    matched = await _in_hash_pool(verify_password, password, stored)
    if row["locked"]:
        return "locked"
    if matched and row["id"] is not None:
        await pool.execute(queries.SQL.sign_in_succeeded, digest)
        if needs_rehash(stored):
            # only over the hash just verified: a reset that landed meanwhile stays
            await pool.execute(queries.SQL.rehash_password, row["id"], stored,
                               await _in_hash_pool(hash_password, password))
        return int(row["id"])
    locked = await pool.fetchval(queries.SQL.sign_in_failed, digest, MAX_FAILURES,
                                 timedelta(minutes=LOCK_MINUTES))
    return "locked_now" if locked else "invalid"


async def new_session(pool: asyncpg.Pool, secret: bytes, user_id: int) -> str:
    """A new session for the user; returns the signed cookie value."""
    token = secrets.token_urlsafe(32)
    await pool.execute(queries.SQL.delete_expired_sessions)
    await pool.execute(queries.SQL.forget_old_failures)
    await pool.execute(queries.SQL.insert_session, _digest(token), user_id,
                       secrets.token_urlsafe(32), timedelta(hours=SESSION_HOURS))
    return sign(secret, token, "session")


async def session_of(pool: asyncpg.Pool, secret: bytes, cookie: str | None) -> Session | None:
    token = unsign(secret, cookie, "session")
    if token is None:
        return None
    row = await pool.fetchrow(queries.SQL.session, _digest(token))
    if row is None:
        return None
    return Session(row["owner_id"], row["name"], row["email"], row["csrf"], _digest(token),
                   row["user_id"], row["user_name"], row["role"])


async def end_session(pool: asyncpg.Pool, session: Session) -> None:
    await pool.execute(queries.SQL.delete_session, session.token_hash)

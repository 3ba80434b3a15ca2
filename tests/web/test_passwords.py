"""Owner passwords: Argon2id hashes, older scrypt hashes still accepted and replaced."""

from __future__ import annotations

import hashlib
import secrets

import asyncpg

from inbound.web import auth, queries, set_password
from tests.web.conftest import EMAIL_A, Site


def scrypt_hash(password: str) -> str:
    """A hash as the first version stored it."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"$scrypt$ln=14,r=8,p=1${auth._b64(salt)}${auth._b64(digest)}"


def test_argon2id_hash_verifies_only_its_password() -> None:
    stored = auth.hash_password("doğru-parola-1")
    assert stored.startswith("$argon2id$")
    assert auth.verify_password("doğru-parola-1", stored)
    assert not auth.verify_password("yanlis-parola-1", stored)
    assert not auth.verify_password("doğru-parola-1", "$argon2id$garbage")
    assert not auth.verify_password("doğru-parola-1", None)


async def user_of(pool: asyncpg.Pool, owner_id: int) -> int:
    """The owner's admin user (migration 0028: passwords belong to users; issue #33)."""
    return int(await pool.fetchval("SELECT id FROM web_user WHERE owner_id = $1", owner_id))


async def test_scrypt_hash_signs_in_and_is_replaced_by_argon2id(site: Site,
                                                               pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE web_user SET password_hash = $2 WHERE owner_id = $1", site.owner_a,
                       scrypt_hash("eski-parola-123"))
    assert await auth.sign_in(pool, EMAIL_A, "wrong-password") == "invalid"
    assert await auth.sign_in(pool, EMAIL_A, "eski-parola-123") == await user_of(pool, site.owner_a)
    stored = await pool.fetchval("SELECT password_hash FROM web_user WHERE owner_id = $1",
                                 site.owner_a)
    assert stored.startswith("$argon2id$")
    assert await auth.sign_in(pool, EMAIL_A, "eski-parola-123") == await user_of(pool, site.owner_a)


async def test_a_rehash_never_overwrites_a_password_set_meanwhile(site: Site,
                                                                  pool: asyncpg.Pool) -> None:
    """The sign-in that read the old hash must not undo a reset (e.g. after a leak)."""
    old = scrypt_hash("eski-parola-123")
    await pool.execute("UPDATE web_user SET password_hash = $2 WHERE owner_id = $1",
                       site.owner_a, old)
    assert await set_password(pool, site.owner_a, "yeni-parola-456")
    await pool.execute(queries.SQL.rehash_password, await user_of(pool, site.owner_a), old,
                       auth.hash_password("eski-parola-123"))
    assert await auth.sign_in(pool, EMAIL_A, "eski-parola-123") == "invalid"
    assert await auth.sign_in(pool, EMAIL_A, "yeni-parola-456") == await user_of(pool, site.owner_a)

"""Sign-in tells nothing about which e-mail addresses have accounts (issue #25): the same
answer, the same work (a dummy Argon2 hash for an unknown address) and the same lock-out for
every address; failures and lock-outs are logged (address masked, no password) and counted.
The timing itself is measured by ``python -m bench.sign_in`` (figures, not an assertion)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from inbound.web import auth
from tests.web.conftest import EMAIL_A, Site, csrf_of, sign_in

UNKNOWN = "nobody@nowhere.example"


def _shape(html: str) -> str:
    """The page without what differs on every answer (the CSRF token)."""
    return re.sub(r'name="csrf" value="[^"]+"', 'name="csrf" value=""', html)


class _SpyHasher:
    """The real hasher, noting every hash a password is verified against."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.seen: list[str] = []

    def verify(self, stored: str, password: str) -> Any:
        self.seen.append(stored)
        return self.real.verify(stored, password)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def hashes_verified(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every hash a password was verified against, in order."""
    auth.dummy_hash()  # made before the spy, as at the first sign-in of the process
    spy = _SpyHasher(auth._HASHER)
    monkeypatch.setattr(auth, "_HASHER", spy)
    return spy.seen


async def _attempt(client: TestClient, email: str, password: str = "wrong-password"
                   ) -> tuple[int, str]:
    form = await client.get("/ui/login")
    response = await client.post("/ui/login", data={"csrf": csrf_of(await form.text()),
                                                    "email": email, "password": password})
    return response.status, _shape(await response.text())


async def test_known_and_unknown_addresses_get_the_same_answer(
        client: TestClient, site: Site, hashes_verified: list[str]) -> None:
    known = await _attempt(client, EMAIL_A)
    unknown = await _attempt(client, UNKNOWN)
    assert known[0] == unknown[0] == 401
    assert known[1] == unknown[1]
    # one Argon2 verification each: the owner's hash, then the dummy one
    stored = await site.pool.fetchval("SELECT password_hash FROM owner WHERE id = $1",
                                      site.owner_a)
    assert hashes_verified == [stored, auth.dummy_hash()]
    assert auth.dummy_hash().startswith("$argon2id$")


async def test_an_unknown_address_locks_out_exactly_like_a_known_one(
        client: TestClient, site: Site, hashes_verified: list[str]) -> None:
    answers = {}
    for email in (EMAIL_A, UNKNOWN):
        statuses = [(await _attempt(client, email))[0] for _ in range(auth.MAX_FAILURES)]
        assert statuses == [401] * (auth.MAX_FAILURES - 1) + [429], email
        answers[email] = await _attempt(client, email)
    assert answers[EMAIL_A] == answers[UNKNOWN]
    assert answers[EMAIL_A][0] == 429 and "kilitlendi" in answers[EMAIL_A][1]
    # a locked address still costs a verification, so the lock is not quicker to answer
    assert len(hashes_verified) == 2 * (auth.MAX_FAILURES + 1)
    assert await site.pool.fetchval("SELECT count(*) FROM web_sign_in_failure") == 2
    # the table keeps no address in clear
    assert UNKNOWN.encode() not in b"".join(await site.pool.fetchval(
        "SELECT array_agg(email_digest) FROM web_sign_in_failure"))


async def test_an_address_is_counted_whatever_its_case(client: TestClient,
                                                      site: Site) -> None:
    for email in ("Nobody@Nowhere.example", "nobody@nowhere.EXAMPLE", " nobody@nowhere.example"):
        await _attempt(client, email)
    assert await site.pool.fetchval("SELECT failures FROM web_sign_in_failure") == 3


async def test_failures_and_lock_outs_are_logged_masked_and_counted(client: TestClient,
                                                                    site: Site) -> None:
    def count(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels or None) or 0.0

    invalid_before = count("iys_inbound_web_sign_in_failures_total", reason="invalid")
    locked_before = count("iys_inbound_web_sign_in_failures_total", reason="locked")
    lockouts_before = count("iys_inbound_web_sign_in_lockouts_total")
    with structlog.testing.capture_logs() as logs:
        for _ in range(auth.MAX_FAILURES):
            await _attempt(client, UNKNOWN, "my-secret-guess")
    failed = [e for e in logs if e["event"] == "web sign-in failed"]
    assert len(failed) == auth.MAX_FAILURES
    assert {e["email"] for e in failed} == {"n***@nowhere.example"}
    assert [e["reason"] for e in failed] == ["invalid"] * (auth.MAX_FAILURES - 1) + ["locked"]
    locked = [e for e in logs if e["event"] == "web sign-in locked out"]
    assert len(locked) == 1 and locked[0]["email"] == "n***@nowhere.example"
    assert "my-secret-guess" not in repr(logs) and UNKNOWN not in repr(logs)
    assert count("iys_inbound_web_sign_in_failures_total", reason="invalid") \
        == invalid_before + auth.MAX_FAILURES - 1
    assert count("iys_inbound_web_sign_in_failures_total", reason="locked") == locked_before + 1
    assert count("iys_inbound_web_sign_in_lockouts_total") == lockouts_before + 1


async def test_a_password_reset_lifts_the_lock(client: TestClient, site: Site) -> None:
    for _ in range(auth.MAX_FAILURES):
        await _attempt(client, EMAIL_A)
    assert (await sign_in(client))[0] == 429
    assert await auth.set_password(site.pool, site.owner_a, "yeni-parola-789")
    assert (await sign_in(client, password="yeni-parola-789"))[0] == 200

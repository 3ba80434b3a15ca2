"""Behind a reverse proxy (issue #25): the session cookie is ``Secure`` whenever the browser
used TLS, directly or through a proxy named in ``http.trusted_proxies``; X-Forwarded-For and
X-Forwarded-Proto are believed from those proxies only, and the sign-in limit then counts
the real client."""

from __future__ import annotations

import ssl
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, make_mocked_request

from inbound.config import ConfigError, parse
from inbound.http import ServiceState, create_app
from inbound.proxies import TrustedProxies, parse_networks
from inbound.web.limits import FailedSignIns
from inbound.web.state import FAILED_SIGN_INS
from tests.web.conftest import EMAIL_A, PASSWORD_A, SECRET, csrf_of, seed

HTTPS = {"X-Forwarded-Proto": "https"}


async def _client(pool: asyncpg.Pool, aiohttp_client: Any, trusted: list[str],
                  limiter: FailedSignIns | None = None) -> TestClient:
    await seed(pool)
    app = create_app(ServiceState(pool=pool), web_secret=SECRET, trusted_proxies=trusted)
    if limiter is not None:
        # the /ui/ sub-application: the one holding the sign-in limiter (the link pages at
        # /r are another sub-application)
        (ui,) = [sub for sub in app._subapps if FAILED_SIGN_INS in sub]
        ui[FAILED_SIGN_INS] = limiter
    return await aiohttp_client(app)


async def _cookies(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    """Set-Cookie lines of the sign-in form and of a successful sign-in, by cookie name."""
    form = await client.get("/ui/login", headers=headers)
    out = {c.split("=", 1)[0]: c for c in form.headers.getall("Set-Cookie")}
    # sent by hand: the test client (like a browser) keeps a Secure cookie off plain http
    pre = out["iys_login"].split(";", 1)[0]
    client.session.cookie_jar.clear()
    response = await client.post("/ui/login", headers={**headers, "Cookie": pre},
                                 allow_redirects=False, data={
        "csrf": csrf_of(await form.text()), "email": EMAIL_A, "password": PASSWORD_A})
    assert response.status == 303
    for line in response.headers.getall("Set-Cookie"):
        out.setdefault(line.split("=", 1)[0], line)  # iys_login: as set, not as deleted
    return out


def _secure(line: str) -> bool:
    return "secure" in [part.strip().lower() for part in line.split(";")]


async def test_plain_http_without_a_proxy_is_not_secure(pool: asyncpg.Pool,
                                                        aiohttp_client: Any) -> None:
    client = await _client(pool, aiohttp_client, [])
    cookies = await _cookies(client, HTTPS)  # the header alone, from anyone: ignored
    assert not _secure(cookies["iys_login"]) and not _secure(cookies["iys_session"])
    assert "HttpOnly" in cookies["iys_session"] and "SameSite=Strict" in cookies["iys_session"]


async def test_tls_through_a_trusted_proxy_makes_the_cookies_secure(pool: asyncpg.Pool,
                                                                     aiohttp_client: Any) -> None:
    client = await _client(pool, aiohttp_client, ["127.0.0.1"])
    cookies = await _cookies(client, HTTPS)
    assert _secure(cookies["iys_login"]) and _secure(cookies["iys_session"])


async def test_an_untrusted_proxy_saying_https_is_not_believed(pool: asyncpg.Pool,
                                                               aiohttp_client: Any) -> None:
    client = await _client(pool, aiohttp_client, ["10.0.0.0/8"])
    cookies = await _cookies(client, HTTPS)
    assert not _secure(cookies["iys_session"])


async def test_a_trusted_proxy_speaking_plain_http_is_not_secure(pool: asyncpg.Pool,
                                                                 aiohttp_client: Any) -> None:
    client = await _client(pool, aiohttp_client, ["127.0.0.1"])
    cookies = await _cookies(client, {"X-Forwarded-Proto": "http"})
    assert not _secure(cookies["iys_session"])


def test_tls_straight_to_the_service_is_secure() -> None:
    request = make_mocked_request("GET", "/ui/login",
                                  sslcontext=ssl.create_default_context())
    assert TrustedProxies().secure(request)
    assert not TrustedProxies().secure(make_mocked_request("GET", "/ui/login"))


def test_the_client_is_the_right_most_untrusted_hop() -> None:
    proxies = TrustedProxies(parse_networks(["10.0.0.0/8"]))

    def client(peer: str, forwarded: str) -> str:
        transport = _Transport(peer)
        request = make_mocked_request("GET", "/", headers={"X-Forwarded-For": forwarded},
                                      transport=transport)
        return proxies.client(request)

    assert client("10.0.0.1", "203.0.113.7") == "203.0.113.7"
    # what the client itself wrote (left of the real hop) is not believed
    assert client("10.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.9") == "203.0.113.7"
    assert client("198.51.100.1", "203.0.113.7") == "198.51.100.1"  # not a trusted peer


class _Transport:
    def __init__(self, peer: str) -> None:
        self.peer = peer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return (self.peer, 40000) if name == "peername" else default


async def _fail(client: TestClient, forwarded_for: str) -> int:
    form = await client.get("/ui/login")
    response = await client.post("/ui/login", headers={"X-Forwarded-For": forwarded_for},
                                 data={"csrf": csrf_of(await form.text()), "email": EMAIL_A,
                                       "password": "wrong-password"})
    return response.status


async def test_the_sign_in_limit_counts_the_client_behind_a_trusted_proxy(
        pool: asyncpg.Pool, aiohttp_client: Any) -> None:
    client = await _client(pool, aiohttp_client, ["127.0.0.1"], FailedSignIns(limit=2))
    assert [await _fail(client, "203.0.113.5") for _ in range(3)] == [401, 401, 429]
    assert await _fail(client, "203.0.113.6") == 401  # another client: its own count


async def test_forwarded_for_from_anyone_else_is_ignored(pool: asyncpg.Pool,
                                                         aiohttp_client: Any) -> None:
    client = await _client(pool, aiohttp_client, [], FailedSignIns(limit=2))
    assert await _fail(client, "203.0.113.5") == 401
    assert await _fail(client, "203.0.113.6") == 401
    # both counted against the peer itself: a forged header buys no fresh count
    assert await _fail(client, "203.0.113.7") == 429


def test_trusted_proxies_configuration() -> None:
    config = parse({"http": {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "::1"]}}, {})
    assert config.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert parse({}, {}).trusted_proxies == ()
    with pytest.raises(ConfigError, match=r"http\.trusted_proxies: 'proxy\.local' is not"):
        parse({"http": {"trusted_proxies": ["proxy.local"]}}, {})
    with pytest.raises(ConfigError, match=r"http\.trusted_proxies"):
        parse({"http": {"trusted_proxies": "10.0.0.1"}}, {})

"""Where a webhook may go: the target is resolved once, every address checked, and the
connection made to a checked address (no second DNS lookup).

aiohttp asks its resolver for a host name's addresses and connects to what it returns, so
``CheckingResolver`` *is* the check: it resolves, drops nothing silently (one refused
address refuses the host: a name that answers both a public and a private address is a
rebinding attempt or a mistake) and hands aiohttp exactly the addresses it checked. The
URL keeps its host name, so TLS's SNI, certificate check and the Host header are the
name's. IP literals never reach a resolver in aiohttp, so ``check_literal`` covers them
before a request is made.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(Exception):
    """The URL points somewhere webhooks may not go; ``str()`` says why (no secret in it)."""


@dataclass(frozen=True)
class AddressPolicy:
    """``allow_private``: any non-public address (private, link-local, CGNAT, reserved …);
    ``allow_loopback``: 127.0.0.0/8 and ::1 only (the zero-config default's local try)."""

    allow_private: bool = False
    allow_loopback: bool = False

    def refusal(self, ip: IpAddress) -> str | None:
        """Why ``ip`` is refused, or None when it may be reached."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if self.allow_private:
            return None if not ip.is_multicast and not ip.is_unspecified else "multicast"
        if ip.is_loopback:
            return None if self.allow_loopback else "loopback"
        if ip.is_global and not ip.is_multicast:
            return None
        for name in ("link_local", "multicast", "private", "reserved", "unspecified"):
            if getattr(ip, f"is_{name}"):
                return name.replace("_", "-")
        return "not public"

    def check(self, host: str, ip_text: str) -> None:
        ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
        reason = self.refusal(ip)
        if reason is not None:
            raise RefusedTarget(f"{host} resolves to a {reason} address ({ip}); refused "
                                "(webhooks.allow_private)")


def literal_ip(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, policy: AddressPolicy) -> str:
    """The URL's shape and, for an IP literal or ``localhost``, its address; the host name
    (resolved only when a delivery is made: DNS may change in between)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedTarget(f"not a valid URL: {exc}") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise RefusedTarget("must be an https:// URL with a host")
    if parts.username or parts.password:
        raise RefusedTarget("must not carry a user name or password")
    if port == 0:
        raise RefusedTarget("port 0 cannot be reached")
    ip = literal_ip(host)
    if ip is None and host.rstrip(".").lower().endswith("localhost"):
        ip = ipaddress.ip_address("127.0.0.1")
    local = ip is not None and (ip.is_loopback or (
        isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
        and ip.ipv4_mapped.is_loopback))
    if ip is not None:
        policy.check(host, str(ip))
    if parts.scheme == "http" and not (local or policy.allow_private):
        raise RefusedTarget("must be https:// (http:// only where private targets are "
                            "allowed, or to loopback where loopback is)")
    return host


class CheckingResolver(AbstractResolver):
    """Resolves with the system's resolver and refuses a host with any refused address."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, family=family)
        except socket.gaierror as exc:
            raise OSError(f"cannot resolve {host}: {exc.strerror}") from None
        results: list[ResolveResult] = []
        for fam, _, proto, _, address in infos:
            self.policy.check(host, str(address[0]))
            results.append(ResolveResult(hostname=host, host=str(address[0]),
                                         port=int(address[1]), family=fam, proto=proto,
                                         flags=socket.AI_NUMERICHOST))
        if not results:
            raise OSError(f"cannot resolve {host}: no address")
        return results

    async def close(self) -> None:
        return None


def describe(exc: BaseException) -> Any:
    """A short, secret-free text for the delivery log."""
    text = str(exc) or type(exc).__name__
    return text[:300]

"""Who is really asking, and over what: the client's address and whether the request came
over TLS, believing ``X-Forwarded-For`` / ``X-Forwarded-Proto`` only from the reverse proxies
named in configuration (``http.trusted_proxies``: addresses and networks).

Anyone can send those headers; from any other peer they are ignored. Behind a trusted proxy
the client is the right-most ``X-Forwarded-For`` address that is not itself a trusted proxy
(each proxy appends the peer it saw, so the addresses left of that one are the client's own
say and could be forged), and the scheme is the right-most ``X-Forwarded-Proto`` value (the
one the nearest proxy wrote).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.1", "192.168.0.0/16", "::1"]`` → networks; ValueError names a bad one."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return tuple(out)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    def trusts(self, address: str | None) -> bool:
        ip = _address(address or "")
        return ip is not None and any(ip in net for net in self.networks)

    def client(self, request: web.BaseRequest) -> str:
        """The client's address (``"unknown"`` when aiohttp has none, e.g. a Unix socket)."""
        peer = request.remote or "unknown"
        if not self.trusts(peer):
            return peer
        hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", []))
                .split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                ip = _address(hop)
                return str(ip) if ip is not None else peer
        return hops[0] if hops else peer

    def secure(self, request: web.BaseRequest) -> bool:
        """Whether the request reached us over TLS, directly or through a trusted proxy."""
        if request.secure:  # TLS to this process itself
            return True
        if not self.trusts(request.remote):
            return False
        protos = ",".join(request.headers.getall("X-Forwarded-Proto", [])).split(",")
        return protos[-1].strip().lower() == "https"


TRUSTED_PROXIES: web.AppKey[TrustedProxies] = web.AppKey("iys_trusted_proxies", TrustedProxies)


def of(request: web.Request) -> TrustedProxies:
    """The service's trusted proxies (none when the app was built without them)."""
    return request.config_dict.get(TRUSTED_PROXIES) or TrustedProxies()

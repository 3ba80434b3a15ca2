"""The ``[links]`` table of the configuration: consent and opt-out by link (issue #30).

One default source: the dataclass below; ``inbound.config`` reads the table into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class ConsentLinkSettings:
    # the public address of the page; a link is {base_url}/{code}. The service serves the
    # page under MOUNT (/r): a reverse proxy maps a short domain's root onto it
    base_url: str = "http://127.0.0.1:8080/r"
    # the privacy notice (KVKK aydınlatma metni) shown on the page when a brand has none of
    # its own (brand settings "privacy_notice": {"url": …} or {"text": …})
    privacy_notice_url: str = ""
    privacy_notice_text: str = ""
    # requests to the page from one address within a minute, and unknown, expired or
    # revoked codes from one address within ten minutes (beyond either: 429)
    requests_per_minute: int = 60
    invalid_codes_per_10_minutes: int = 20
    # brand-wide links (no recipient) send a one-time code by SMS: through this configured
    # transmitter or transceiver [[link]], from this source address. Empty: refused
    otp_link: str = ""
    otp_outbox: str = ""      # the sms_out key its sender reads (set from the [[link]])
    otp_source: str = "IYS"
    otp_per_number_per_hour: int = 3
    otp_per_address_per_hour: int = 10


MOUNT = "/r"
LINK_SETTINGS: web.AppKey[ConsentLinkSettings] = web.AppKey("consent_link_settings",
                                                             ConsentLinkSettings)


def of(request: web.Request) -> ConsentLinkSettings:
    """The service's settings (the defaults when the app was built without them)."""
    return request.config_dict.get(LINK_SETTINGS) or ConsentLinkSettings()


def read(r: Any, links: tuple[Any, ...], error: type[Exception]) -> ConsentLinkSettings:
    """The [links] table through ``inbound.config``'s reader ``r`` (its typed, key-naming
    getters); ``links`` the configured SMPP links; ``error``: ConfigError."""
    d = ConsentLinkSettings()
    base_url = r.get("base_url", str, d.base_url).rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise error(f"links.base_url: must start with https:// (got {base_url!r})")
    otp_link = r.get("otp_link", str, d.otp_link)
    sending = {link.name: link for link in links if link.mode in ("transmitter", "transceiver")}
    if otp_link and otp_link not in sending:
        raise error(f"links.otp_link: {otp_link!r} is not a configured transmitter or "
                          "transceiver [[link]]")
    otp_outbox = sending[otp_link].reply_outbox if otp_link else ""
    if otp_link and not otp_outbox:
        raise error(f"links.otp_link: [[link]] {otp_link!r} sends nothing (replies = "
                          "false, or a transmitter without replies_for)")
    return ConsentLinkSettings(
        base_url=base_url,
        privacy_notice_url=r.get("privacy_notice_url", str, d.privacy_notice_url),
        privacy_notice_text=r.get("privacy_notice_text", str, d.privacy_notice_text),
        requests_per_minute=r.number("requests_per_minute", int, d.requests_per_minute,
                                     1, 100_000),
        invalid_codes_per_10_minutes=r.number("invalid_codes_per_10_minutes", int,
                                              d.invalid_codes_per_10_minutes, 1, 100_000),
        otp_link=otp_link,
        otp_outbox=otp_outbox or "",
        otp_source=r.get("otp_source", str, d.otp_source),
        otp_per_number_per_hour=r.number("otp_per_number_per_hour", int,
                                         d.otp_per_number_per_hour, 1, 100),
        otp_per_address_per_hour=r.number("otp_per_address_per_hour", int,
                                          d.otp_per_address_per_hour, 1, 10_000),
    )

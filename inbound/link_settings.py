"""The ``[links]`` table of the configuration: consent and opt-out by link (issue #30).

One default source: the dataclass below; ``inbound.config`` reads the table into it.
"""

from __future__ import annotations

from dataclasses import dataclass

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

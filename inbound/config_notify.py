"""The [webhooks] and [smtp] tables of the configuration (issue #32), read with
``inbound.config``'s reader (anything with its ``get`` and ``number``): one default source,
the settings dataclasses."""

from __future__ import annotations

from typing import Any

from inbound.notices import SmtpSettings
from inbound.webhooks.delivery import WebhookSettings


def webhooks(wh: Any, zero_config: bool) -> WebhookSettings:
    """[webhooks]. allow_loopback absent: allowed only in the zero-config default (no
    configuration file), so `make run` can be tried against a local receiver."""
    d = WebhookSettings()
    return WebhookSettings(
        enabled=wh.get("enabled", bool, d.enabled),
        allow_private=wh.get("allow_private", bool, d.allow_private),
        allow_loopback=wh.get("allow_loopback", bool, zero_config),
        timeout=wh.number("timeout", float, d.timeout, 1, 60),
        poll_interval=wh.number("poll_interval", float, d.poll_interval, 0.1, 60),
        lease_seconds=wh.number("lease_seconds", float, d.lease_seconds, 1, 3600),
        first_retry=wh.number("first_retry", float, d.first_retry, 0.1, 3600),
    )


def smtp(r: Any, *, username: str, password: str) -> SmtpSettings:
    """[smtp]; the user name and password come from the environment or a file (the caller)."""
    d = SmtpSettings()
    return SmtpSettings(
        host=r.get("host", str, d.host),
        port=r.number("port", int, d.port, 1, 65535),
        from_address=r.get("from_address", str, d.from_address),
        username=username,
        password=password,
        starttls=r.get("starttls", bool, d.starttls),
        use_tls=r.get("use_tls", bool, d.use_tls),
        timeout=r.number("timeout", float, d.timeout, 1, 300),
        digest_hour=r.number("digest_hour", int, d.digest_hour, 0, 23),
        interval=r.number("interval", float, d.interval, 5, 3600),
    )

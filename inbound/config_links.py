"""The ``[[link]]`` tables (one SMPP link each) and the rule that ties a transmitter link to
the receiver link whose replies it sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inbound.config_reader import ConfigError, Reader, secret
from smpp_bind.settings import LinkSettings as LinkConfig

_LINK = LinkConfig(name="", host="", port=2775, system_id="")   # its defaults


def link_of(raw: Any, index: int, env: Mapping[str, str]) -> LinkConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"link[{index}]: expected a table ([[link]])")
    r = Reader(raw, f"link[{index}].")
    name = r.get("name", str, "")
    if not name:
        raise ConfigError(f"link[{index}].name: required")
    r.prefix = f"link[{name}]."
    host = r.get("host", str, "")
    if not host:
        raise ConfigError(f"link[{name}].host: required")
    env_default = "SMPP_PASSWORD_" + "".join(c if c.isalnum() else "_" for c in name).upper()
    numbers = r.get("numbers", list, [])
    if not all(isinstance(n, str) and n.strip("+").isdigit() for n in numbers):
        raise ConfigError(f"link[{name}].numbers: expected a list of digit strings")
    link = LinkConfig(
        name=name,
        host=host,
        port=r.number("port", int, _LINK.port, 1, 65535),
        system_id=r.get("system_id", str, ""),
        password=secret(r, env, env_default),
        mode=r.choice("mode", ("receiver", "transceiver", "transmitter"), _LINK.mode),
        system_type=r.get("system_type", str, _LINK.system_type),
        address_range=r.get("address_range", str, _LINK.address_range),
        window=r.number("window", int, _LINK.window, 1, 1000),
        # absent: LinkSettings.uncommitted_limit (4 windows)
        max_uncommitted=(r.number("max_uncommitted", int, 1, 1, 1_000_000)
                         if "max_uncommitted" in raw else None),
        enquire_link_interval=r.number("enquire_link_interval", float,
                                       _LINK.enquire_link_interval, 1, 3600),
        response_timeout=r.number("response_timeout", float, _LINK.response_timeout, 0.1, 600),
        reconnect_min=r.number("reconnect_min", float, _LINK.reconnect_min, 0.01, 3600),
        reconnect_max=r.number("reconnect_max", float, _LINK.reconnect_max, 0.01, 86400),
        tls=r.get("tls", bool, _LINK.tls),
        tls_verify=r.get("tls_verify", bool, _LINK.tls_verify),
        gsm_as_latin1=r.get("gsm_as_latin1", bool, _LINK.gsm_as_latin1),
        numbers=tuple(numbers),
        redelivery_window=r.number("redelivery_window", float, _LINK.redelivery_window,
                                   0, 7 * 86400),
        smsc_response_window=r.number("smsc_response_window", float,
                                      _LINK.smsc_response_window, 1, 3600),
        send_rate=r.number("send_rate", float, _LINK.send_rate, 0.1, 10000),
        replies=r.get("replies", bool, _LINK.replies),
        replies_for=r.get("replies_for", str, _LINK.replies_for),
    )
    if not link.system_id:
        raise ConfigError(f"link[{name}].system_id: required")
    # SMPP 3.4 §4.1.1: longer values would be cut silently by the codec and refused later
    if len(link.system_id) > 15:
        raise ConfigError(f"link[{name}].system_id: at most 15 characters in SMPP 3.4")
    if len(link.password) > 8:
        raise ConfigError(f"link[{name}].password: at most 8 characters in SMPP 3.4")
    if len(link.system_type) > 12:
        raise ConfigError(f"link[{name}].system_type: at most 12 characters in SMPP 3.4")
    r.reject_unknown()
    return link


def check_transmitters(links: tuple[LinkConfig, ...]) -> None:
    """A transmitter link exists to send the replies of one receiver link."""
    modes = {link.name: link.mode for link in links}
    replies_on = {link.name: link.replies for link in links}
    served: dict[str, str] = {}
    for link in links:
        key = f"link[{link.name}].replies_for"
        if link.mode != "transmitter":
            if link.replies_for:
                raise ConfigError(f"{key}: only a transmitter link sends another link's replies")
            continue
        if not link.replies_for:
            raise ConfigError(f"{key}: required on a transmitter link (the receiver link "
                              "whose replies it sends)")
        if modes.get(link.replies_for) != "receiver":
            raise ConfigError(f"{key}: {link.replies_for!r} is not a receiver link here")
        if not replies_on[link.replies_for]:
            raise ConfigError(f"{key}: link[{link.replies_for}] has replies = false; set "
                              "replies there or drop this transmitter link")
        if link.replies_for in served:
            raise ConfigError(f"{key}: link[{served[link.replies_for]}] already sends "
                              f"{link.replies_for!r}'s replies")
        served[link.replies_for] = link.name

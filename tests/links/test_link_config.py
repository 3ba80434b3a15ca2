"""The [links] table (issue #30): defaults, and the keys that are refused with their name."""

from __future__ import annotations

import pytest

from inbound import config
from inbound.link_settings import ConsentLinkSettings


def test_defaults_and_a_base_url() -> None:
    assert config.parse({}, {}).consent_links == ConsentLinkSettings()
    parsed = config.parse({"links": {"base_url": "https://ret.example/r/"}}, {})
    assert parsed.consent_links.base_url == "https://ret.example/r"


@pytest.mark.parametrize(("table", "message"), [
    ({"base_url": "ret.example/r"}, "links.base_url"),
    ({"otp_link": "nope"}, "links.otp_link: 'nope' is not a configured transmitter"),
    ({"requests_per_minute": 0}, "links.requests_per_minute"),
    ({"colour": "red"}, "links.colour: unknown key"),
])
def test_refused_keys_are_named(table: dict[str, object], message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.parse({"links": table}, {})

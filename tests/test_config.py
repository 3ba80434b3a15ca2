"""Configuration: defaults, the example file, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound.config import ConfigError, load, parse

EXAMPLE = Path(__file__).resolve().parent.parent / "iys-inbound.example.toml"


def test_no_file_means_zero_config_default() -> None:
    cfg = parse({}, {})
    assert cfg.uses_simulator and cfg.iys.uses_sandbox and cfg.database_url == ""


def test_example_file_is_valid_and_reads_secrets_from_the_environment() -> None:
    cfg = load(EXAMPLE, env={"SMPP_PASSWORD_TURKCELL_1": "s3cret", "DATABASE_URL": "postgresql://x/y"})
    (link,) = cfg.links
    assert link.name == "turkcell-1" and link.password == "s3cret" and link.window == 50
    assert cfg.database_url == "postgresql://x/y"
    assert "s3cret" not in repr(link)


def test_password_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("fromfile\n")
    cfg = parse({"link": [{"name": "a", "host": "h", "system_id": "s",
                           "password_file": str(secret)}]}, {})
    assert cfg.links[0].password == "fromfile"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"link": [{"name": "a", "host": "h", "system_id": "s", "window": 0}]}, "link[a].window"),
        ({"link": [{"name": "a", "host": "h", "system_id": "s", "mode": "tx"}]}, "link[a].mode"),
        ({"link": [{"name": "a", "system_id": "s"}]}, "link[a].host"),
        ({"link": [{"host": "h"}]}, "link[0].name"),
        ({"http": {"port": 70000}}, "http.port"),
        ({"http": {"prot": 1}}, "http.prot"),
        ({"iys": {"base_url": "https://api.iys.org.tr"}}, "iys.username"),
        ({"iys": {"password": "x"}}, "iys.password"),
        ({"log": {"level": "loud"}}, "log.level"),
        ({"surprise": 1}, "surprise"),
        ({"link": [{"name": "a", "host": "h", "system_id": "s" * 16}]}, "link[a].system_id"),
    ],
)
def test_errors_name_the_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(data, {})
    assert str(info.value).startswith(key + ":")


def test_smpp_password_longer_than_eight_characters_is_refused() -> None:
    link = {"name": "a", "host": "h", "system_id": "s", "password_env": "PW"}
    with pytest.raises(ConfigError) as info:
        parse({"link": [link]}, {"PW": "nine-char"})
    assert str(info.value).startswith("link[a].password:") and "nine-char" not in str(info.value)


def test_web_secret_comes_from_the_environment_and_must_be_long_enough() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    config = parse({}, {"IYS_INBOUND_WEB_SECRET": secret})
    assert config.web_secret == secret and secret not in repr(config)
    with pytest.raises(ConfigError, match="IYS_INBOUND_WEB_SECRET"):
        parse({}, {"IYS_INBOUND_WEB_SECRET": "short"})


def _link(name: str, mode: str, **extra: object) -> dict[str, object]:
    return {"name": name, "host": "h", "system_id": "s", "mode": mode, **extra}


def test_a_transmitter_link_sends_a_receiver_links_replies() -> None:
    cfg = parse({"link": [_link("rx", "receiver"), _link("tx", "transmitter", replies_for="rx"),
                          _link("trx", "transceiver")]}, {})
    assert [link.reply_outbox for link in cfg.links] == [None, "rx", "trx"]


@pytest.mark.parametrize(("links", "message"), [
    ([_link("tx", "transmitter")], "required on a transmitter link"),
    ([_link("tx", "transmitter", replies_for="nope")], "'nope' is not a receiver link"),
    ([_link("rx", "receiver", replies_for="rx")], "only a transmitter link"),
    ([_link("rx", "receiver"), _link("t1", "transmitter", replies_for="rx"),
      _link("t2", "transmitter", replies_for="rx")], "link[t1] already sends"),
])
def test_transmitter_link_mistakes_name_the_key(links: list[dict[str, object]],
                                                message: str) -> None:
    with pytest.raises(ConfigError, match=r"replies_for: ") as info:
        parse({"link": links}, {})
    assert message in str(info.value)


def test_a_lease_shorter_than_a_push_round_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^iys.lease_seconds: at least 3 × iys.timeout \+ 2"):
        parse({"iys": {"lease_seconds": 10}}, {})
    assert parse({"iys": {"lease_seconds": 5, "timeout": 1}}, {}).iys.lease_seconds == 5


def test_a_transmitter_for_a_receiver_without_replies_is_refused() -> None:
    links = [_link("rx", "receiver", replies=False),
             _link("tx", "transmitter", replies_for="rx")]
    with pytest.raises(ConfigError, match=r"^link\[tx\].replies_for: link\[rx\] has replies"):
        parse({"link": links}, {})


def test_the_push_side_yields_to_a_wave_of_mos_unless_told_never_to() -> None:
    default = parse({}, {}).iys
    assert (default.yield_to_intake_above, default.yield_events_per_second) == (2000.0, 100.0)
    tuned = parse({"iys": {"yield_to_intake_above": 0, "yield_events_per_second": 250}}, {}).iys
    assert (tuned.yield_to_intake_above, tuned.yield_events_per_second) == (0.0, 250.0)
    with pytest.raises(ConfigError, match="iys.yield_events_per_second"):
        parse({"iys": {"yield_events_per_second": 1}}, {})


def test_max_uncommitted_defaults_to_four_windows_and_must_be_positive() -> None:
    base = {"name": "a", "host": "h", "system_id": "s", "window": 30}
    (default,) = parse({"link": [base]}, {}).links
    assert default.max_uncommitted is None and default.uncommitted_limit == 120
    (set_,) = parse({"link": [{**base, "max_uncommitted": 500}]}, {}).links
    assert set_.uncommitted_limit == 500
    with pytest.raises(ConfigError) as info:
        parse({"link": [{**base, "max_uncommitted": 0}]}, {})
    assert str(info.value).startswith("link[a].max_uncommitted:")


def test_retention_periods_default_to_three_years_and_one_year_and_name_their_key() -> None:
    default = parse({}, {})
    assert default.retention_enabled
    assert default.retention.keep_after_consent_end.days == 3 * 365
    assert default.retention.keep_without_consent.days == 365
    custom = parse({"retention": {"keep_after_consent_end_days": 3650,
                                  "keep_without_consent_days": 30, "enabled": False}}, {})
    assert custom.retention.keep_after_consent_end.days == 3650
    assert custom.retention.keep_without_consent.days == 30 and not custom.retention_enabled
    with pytest.raises(ConfigError, match="retention.keep_without_consent_days"):
        parse({"retention": {"keep_without_consent_days": 0}}, {})
    with pytest.raises(ConfigError, match="retention.keep_forever"):
        parse({"retention": {"keep_forever": True}}, {})


def test_the_mirror_section_has_defaults_and_reads_the_push_password_from_the_environment(
        tmp_path: Path) -> None:
    default = parse({}, {}).mirror
    assert default.pull_interval == 300 and not default.push_configured
    cfg = parse({"mirror": {"push_username": "iys", "pull_interval": 60}},
                {"IYS_INBOUND_PUSH_PASSWORD": "pw"})
    assert cfg.mirror.push_configured and cfg.mirror.pull_interval == 60
    assert "pw" not in repr(cfg.mirror)
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    cfg = parse({"mirror": {"push_username": "iys", "push_password_file": str(secret)}}, {})
    assert cfg.mirror.push_password == "from-file"
    with pytest.raises(ConfigError, match="mirror.push_username"):
        parse({"mirror": {"push_username": "iys"}}, {})
    with pytest.raises(ConfigError, match="mirror.pull_interval"):
        parse({"mirror": {"pull_interval": 1}}, {})
    with pytest.raises(ConfigError, match="mirror.push_pasword"):
        parse({"mirror": {"push_pasword": "x"}}, {})
def test_a_links_defaults_are_link_settings_defaults() -> None:
    # one source for each default: a key left out of [[link]] gets LinkSettings' value
    from dataclasses import fields

    from smpp_bind.settings import LinkSettings

    (link,) = parse({"link": [{"name": "a", "host": "h", "system_id": "s"}]}, {}).links
    reference = LinkSettings(name="a", host="h", port=2775, system_id="s")
    for f in fields(LinkSettings):
        assert getattr(link, f.name) == getattr(reference, f.name), f.name


def test_the_iys_tables_defaults_are_the_push_sides() -> None:
    from dataclasses import fields

    from inbound.config import IysConfig
    from iys_push.client import IysSettings

    parsed, push = parse({}, {}).iys, IysSettings(base_url="", username="", password="")
    shared = {f.name for f in fields(IysConfig)} & {f.name for f in fields(IysSettings)}
    assert len(shared) >= 10
    for name in shared:
        assert getattr(parsed, name) == getattr(push, name), name


def test_the_feature_tables_retention_periods_have_defaults_and_keys() -> None:
    default = parse({}, {}).retention
    assert (default.keep_webhooks.days, default.keep_notices_sent.days,
            default.keep_iys_push_requests.days, default.keep_link_codes.days,
            default.keep_unused_links.days, default.keep_import_rows.days) == (
        30, 90, 30, 1, 365, 365)
    custom = parse({"retention": {"keep_webhooks_days": 7, "keep_import_rows_days": 30}}, {})
    assert custom.retention.keep_webhooks.days == 7
    assert custom.retention.keep_import_rows.days == 30
    with pytest.raises(ConfigError, match="retention.keep_link_codes_days"):
        parse({"retention": {"keep_link_codes_days": 0}}, {})

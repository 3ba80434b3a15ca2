"""Configuration: one TOML file plus environment variables for secrets.

Every problem is reported as ``ConfigError("<key>: <problem>")`` so that start-up stops
with a message that names the key. Secrets (the İYS password, SMPP passwords) are never
read from the TOML file itself: only from the environment or from a file the TOML names.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from inbound import config_notify, link_settings
from inbound.config_links import check_transmitters, link_of
from inbound.config_reader import ConfigError, Reader, env_first, secret, table
from inbound.link_settings import ConsentLinkSettings
from inbound.notices import SmtpSettings
from inbound.presend import CheckSettings, parse_settings
from inbound.retention import RetentionSettings
from inbound.webhooks.delivery import WebhookSettings
from iys_push.client import IysSettings
from iys_push.mirror_settings import MirrorSettings
from smpp_bind.settings import LinkSettings as LinkConfig

_PUSH = IysSettings(base_url="", username="", password="")  # its defaults

DEFAULT_CONFIG_FILE = "iys-inbound.toml"


@dataclass(frozen=True)
class IysConfig:
    """The [iys] table. The push side's defaults are IysSettings' (one source for each)."""

    base_url: str = ""                  # empty: the bundled sandbox
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = _PUSH.timeout
    requests_per_second: float = _PUSH.requests_per_second
    batch_poll_delay: float = _PUSH.batch_poll_delay  # İYS: poll results at least 300 s later
    lease_seconds: float = _PUSH.lease_seconds  # a claimed event returns to the queue after this
    max_events_per_second: float = _PUSH.max_events_per_second  # the push side's pace
    yield_to_intake_above: float = _PUSH.yield_to_intake_above  # MOs a second: pushing yields
    yield_events_per_second: float = _PUSH.yield_events_per_second  # the pace meanwhile
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8091
    # the label of this process's egress IP: İYS counts the success ratio per IP, over every
    # process behind it (iys_push.gauges); processes behind one IP share a label
    egress_label: str = _PUSH.egress_label

    @property
    def uses_sandbox(self) -> bool:
        return not self.base_url


@dataclass(frozen=True)
class Config:
    database_url: str = ""              # empty: embedded PostgreSQL under data_dir
    data_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    iys: IysConfig = IysConfig()
    links: tuple[LinkConfig, ...] = ()
    simulator_host: str = "127.0.0.1"
    simulator_port: int = 2775
    rules_file: Path | None = None      # imported at start-up when the database has no rules
    log_format: str = "auto"            # auto | json | console
    log_level: str = "info"
    concat_timeout: float = 600.0       # seconds before an incomplete message is resolved
    reply_interval: float = 3600.0      # a repeated confirmation (same brand and status) waits
    replies_per_hour: int = 4           # replies to one recipient an hour, whatever they confirm
    admin_token: str = field(default="", repr=False)  # operator token for /api/v1 (optional)
    web_secret: str = field(default="", repr=False)   # signs /ui/ session cookies (optional)
    # reverse proxies (addresses, networks) whose X-Forwarded-For/-Proto are believed
    trusted_proxies: tuple[str, ...] = ()
    retention: RetentionSettings = RetentionSettings()
    retention_enabled: bool = True
    check: CheckSettings = CheckSettings()     # [check]: the pre-send check (inbound.presend)
    mirror: MirrorSettings = MirrorSettings()   # [mirror]: the İYS mirror's feeds (#29)
    consent_links: ConsentLinkSettings = ConsentLinkSettings()   # the [links] table
    webhooks: WebhookSettings = WebhookSettings()
    smtp: SmtpSettings = SmtpSettings()

    @property
    def uses_simulator(self) -> bool:
        return not self.links


_LOG_LEVELS = ("debug", "info", "warning", "error")
_DEFAULT = Config()       # parse() falls back to these: each default is written once
_IYS = IysConfig()
# a link's defaults are LinkSettings' (name, host and system_id are required; port 2775 is
# the SMPP port IANA assigns)
def _trusted_proxies(http: Reader) -> tuple[str, ...]:
    from inbound.proxies import parse_networks

    values = http.get("trusted_proxies", list, [])
    key = http.key("trusted_proxies")
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{key}: expected a list of IP addresses or networks (strings)")
    try:
        parse_networks(values)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    return tuple(values)


def _mirror(m: Reader, env: Mapping[str, str]) -> MirrorSettings:
    """[mirror] (defaults: MirrorSettings); the push password only from the environment
    (IYS_INBOUND_PUSH_PASSWORD, or the variable push_password_env names) or a file."""
    d = MirrorSettings()
    push_secret = Reader({k.removeprefix("push_"): v for k, v in m.table.items()
                          if k in ("push_password_file", "push_password_env")},
                         m.prefix + "push_")
    m.used.update({"push_password_file", "push_password_env"})
    settings = MirrorSettings(
        pull_interval=m.number("pull_interval", float, d.pull_interval, 10, 86400),
        push_username=env_first(env, "IYS_INBOUND_PUSH_USERNAME",
                                 m.get("push_username", str, d.push_username)),
        push_password=secret(push_secret, env, "IYS_INBOUND_PUSH_PASSWORD"),
        push_requests_per_second=m.number("push_requests_per_second", float,
                                          d.push_requests_per_second, 1, 10_000),
        reconcile_enabled=m.get("reconcile_enabled", bool, d.reconcile_enabled),
        reconcile_every=m.number("reconcile_every", float, d.reconcile_every, 60, 86400),
        seed_requests_per_second=m.number("seed_requests_per_second", float,
                                          d.seed_requests_per_second, 0.1, 10),
    )
    if bool(settings.push_username) != bool(settings.push_password):
        raise ConfigError("mirror.push_username: the push endpoint needs both a user name and "
                          "a password (IYS_INBOUND_PUSH_PASSWORD), or neither")
    return settings


RETENTION_TABLE_PERIODS = ("keep_webhooks", "keep_notices_sent", "keep_iys_push_requests",
                           "keep_link_codes", "keep_unused_links", "keep_import_rows")


def _retention(ret: Reader) -> RetentionSettings:
    """[retention]: periods in days (defaults: RetentionSettings)."""
    d = RetentionSettings()
    return RetentionSettings(
        keep_after_consent_end=timedelta(days=ret.number(
            "keep_after_consent_end_days", int, d.keep_after_consent_end.days, 30, 100 * 365)),
        keep_without_consent=timedelta(days=ret.number(
            "keep_without_consent_days", int, d.keep_without_consent.days, 1, 100 * 365)),
        batch_size=ret.number("batch_size", int, d.batch_size, 1, 100_000),
        interval=ret.number("interval", float, d.interval, 60, 30 * 86400),
        months_ahead=ret.number("months_ahead", int, d.months_ahead, 1, 24),
        **{name: timedelta(days=ret.number(f"{name}_days", int, getattr(d, name).days, 1,
                                           100 * 365))
           for name in RETENTION_TABLE_PERIODS},
    )


def parse(data: Mapping[str, Any], env: Mapping[str, str]) -> Config:
    def section(name: str) -> Reader:
        """The ``[name]`` table, its keys named ``name.key`` in errors."""
        return Reader(table(data, name), f"{name}.")

    top = Reader(data, "")
    db, http, iys, sim = (section(n) for n in ("database", "http", "iys", "simulator"))
    logr, rules, api, ret = (section(n) for n in ("log", "rules", "api", "retention"))
    chk, mir, consent_links = (section(n) for n in ("check", "mirror", "links"))
    wh, smtp = section("webhooks"), section("smtp")
    raw_links = data.get("link", [])
    if not isinstance(raw_links, list):
        raise ConfigError("link: expected an array of tables ([[link]])")
    links = tuple(link_of(raw, i, env) for i, raw in enumerate(raw_links))
    names = [link.name for link in links]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"link[{name}].name: defined twice")
    check_transmitters(links)
    iys_cfg = IysConfig(
        base_url=iys.get("base_url", str, _IYS.base_url).rstrip("/"),
        username=env_first(env, "IYS_USERNAME", iys.get("username", str, _IYS.username)),
        password=secret(iys, env, "IYS_PASSWORD"),
        timeout=iys.number("timeout", float, _IYS.timeout, 0.1, 300),
        requests_per_second=iys.number("requests_per_second", float, _IYS.requests_per_second,
                                       0.1, 1000),
        batch_poll_delay=iys.number("batch_poll_delay", float, _IYS.batch_poll_delay, 0.1, 86400),
        lease_seconds=iys.number("lease_seconds", float, _IYS.lease_seconds, 1, 3600),
        max_events_per_second=iys.number("max_events_per_second", float,
                                         _IYS.max_events_per_second, 10, 100000),
        yield_to_intake_above=iys.number("yield_to_intake_above", float,
                                         _IYS.yield_to_intake_above, 0, 1_000_000),
        yield_events_per_second=iys.number("yield_events_per_second", float,
                                           _IYS.yield_events_per_second, 10, 100000),
        sandbox_host=iys.get("sandbox_host", str, _IYS.sandbox_host),
        sandbox_port=iys.number("sandbox_port", int, _IYS.sandbox_port, 0, 65535),
        egress_label=iys.get("egress_label", str, _IYS.egress_label).strip(),
    )
    if not iys_cfg.egress_label or len(iys_cfg.egress_label) > 100:
        raise ConfigError("iys.egress_label: a label of 1 to 100 characters (the egress IP's "
                          f"name), got {iys_cfg.egress_label!r}")
    # a claim must outlive its round (an ONAY query and an add, each up to `timeout`, behind
    # the rate limit), or another process claims the same events and sends them again
    shortest_lease = 3 * iys_cfg.timeout + 2
    if iys_cfg.lease_seconds < shortest_lease:
        raise ConfigError(f"iys.lease_seconds: at least 3 × iys.timeout + 2 = {shortest_lease:g} "
                          f"s (got {iys_cfg.lease_seconds:g})")
    if iys_cfg.base_url and not iys_cfg.base_url.startswith(("https://", "http://")):
        raise ConfigError(f"iys.base_url: must start with https:// (got {iys_cfg.base_url!r})")
    if iys_cfg.base_url and not (iys_cfg.username and iys_cfg.password):
        raise ConfigError("iys.username: a real İYS needs IYS_USERNAME and IYS_PASSWORD")
    rules_path = rules.get("file", str, "")
    config = Config(
        database_url=env_first(env, "DATABASE_URL", db.get("url", str, _DEFAULT.database_url)),
        data_dir=Path(env_first(env, "IYS_INBOUND_DATA_DIR",
                                 db.get("data_dir", str, str(_DEFAULT.data_dir)))),
        http_host=http.get("host", str, _DEFAULT.http_host),
        http_port=http.number("port", int, _DEFAULT.http_port, 0, 65535),
        iys=iys_cfg,
        links=links,
        simulator_host=sim.get("host", str, _DEFAULT.simulator_host),
        simulator_port=sim.number("port", int, _DEFAULT.simulator_port, 0, 65535),
        rules_file=Path(rules_path) if rules_path else None,
        log_format=logr.choice("format", ("auto", "json", "console"), _DEFAULT.log_format),
        log_level=logr.choice("level", _LOG_LEVELS, _DEFAULT.log_level),
        concat_timeout=top.number("concat_timeout", float, _DEFAULT.concat_timeout, 1, 7 * 86400),
        reply_interval=top.number("reply_interval", float, _DEFAULT.reply_interval, 0, 30 * 86400),
        replies_per_hour=top.number("replies_per_hour", int, _DEFAULT.replies_per_hour, 1, 100),
        admin_token=secret(api, env, "IYS_INBOUND_ADMIN_TOKEN"),
        web_secret=env.get("IYS_INBOUND_WEB_SECRET", ""),
        trusted_proxies=_trusted_proxies(http),
        retention=_retention(ret),
        retention_enabled=ret.get("enabled", bool, True),
        check=parse_settings(chk),
        mirror=_mirror(mir, env),
        consent_links=link_settings.read(consent_links, links, ConfigError),
        webhooks=config_notify.webhooks(wh, zero_config=not data),
        smtp=config_notify.smtp(
            smtp, username=env_first(env, "SMTP_USERNAME", smtp.get("username", str, "")),
            password=secret(smtp, env, "SMTP_PASSWORD")),
    )
    # a claim must outlive its attempt, or another process sends the same delivery meanwhile
    if config.webhooks.lease_seconds <= config.webhooks.timeout:
        raise ConfigError(f"webhooks.lease_seconds: must exceed webhooks.timeout "
                          f"({config.webhooks.timeout:g} s)")
    if config.web_secret and len(config.web_secret.encode()) < 16:
        raise ConfigError("IYS_INBOUND_WEB_SECRET: needs at least 16 bytes (32 random bytes, "
                          "e.g. `openssl rand -hex 32`)")
    for reader in (db, http, iys, sim, logr, rules, api, ret, chk, mir, consent_links, wh, smtp):
        reader.reject_unknown()
    top.used.update({"database", "http", "iys", "simulator", "log", "rules", "link", "api",
                     "retention", "check", "mirror", "links", "webhooks", "smtp"})
    top.reject_unknown()
    return config


def load(path: str | Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Load ``path`` (or ``iys-inbound.toml`` if present, else defaults) and the environment."""
    env = os.environ if env is None else env
    if path is None:
        path = env.get("IYS_INBOUND_CONFIG") or (
            DEFAULT_CONFIG_FILE if Path(DEFAULT_CONFIG_FILE).exists() else None
        )
    if path is None:
        return parse({}, env)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r}: not valid TOML: {exc}") from exc
    return parse(data, env)

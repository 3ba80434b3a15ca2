"""The configuration's typed reader (one TOML table, every error naming its full key) and
the small helpers every section's parser shares: ``inbound.config`` and its section modules
read through them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """Invalid configuration; ``str()`` is one line naming the key and the problem."""


class Reader:
    """Typed access to one TOML table; every error names the full key."""

    def __init__(self, table: Mapping[str, Any], prefix: str) -> None:
        self.table = table
        self.prefix = prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def get(self, name: str, kind: type, default: Any) -> Any:
        self.used.add(name)
        if name not in self.table:
            return default
        value = self.table[name]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(
                f"{self.key(name)}: expected {kind.__name__}, got {type(value).__name__} {value!r}"
            )
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(name, str, default)
        if value not in choices:
            raise ConfigError(
                f"{self.key(name)}: must be one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def number(self, name: str, kind: type, default: Any, low: float, high: float) -> Any:
        value = self.get(name, kind, default)
        if not low <= value <= high:
            raise ConfigError(
                f"{self.key(name)}: must be between {low:g} and {high:g}, got {value!r}"
            )
        return value

    def reject_unknown(self, extra_allowed: tuple[str, ...] = ()) -> None:
        for name in self.table:
            if name == "password":
                raise ConfigError(
                    f"{self.key(name)}: secrets are not read from the file; use "
                    f"{self.key('password_env')} or {self.key('password_file')}"
                )
            if name not in self.used and name not in extra_allowed:
                raise ConfigError(f"{self.key(name)}: unknown key")


def secret(reader: Reader, env: Mapping[str, str], default_env: str | None) -> str:
    """A secret from ``password_file``, the variable ``password_env`` names, or a default."""
    path = reader.get("password_file", str, "")
    env_name = reader.get("password_env", str, default_env or "")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{reader.key('password_file')}: cannot read {path!r}: {exc.strerror}"
            ) from exc
    if env_name:
        return env.get(env_name, "")
    return ""


def env_first(env: Mapping[str, str], name: str, file_value: str) -> str:
    """The environment wins over the file (the file value is read first so it is validated)."""
    return env.get(name, "") or file_value


def table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}: expected a table ([{name}])")
    return value

"""Logging set-up, in one place: structlog, JSON lines in production, readable in a terminal.

Two guards run on every event, whatever the caller passed: values under secret-looking keys
are replaced, and anything that looks like a phone number is masked (``+90532*****67``).
A mistake in a log call therefore cannot leak a full MSISDN or a password.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authorization|api_key", re.IGNORECASE)
# 10+ digit runs, optionally with '+': MSISDNs in any form; short codes (4609) stay readable
_PHONE = re.compile(r"\+?\d{10,15}")


def mask_phone(match: re.Match[str]) -> str:
    value = match.group(0)
    digits = value.lstrip("+")
    prefix = "+" if value.startswith("+") else ""
    keep_head = 5 if len(digits) >= 12 else 3
    return prefix + digits[:keep_head] + "*" * (len(digits) - keep_head - 2) + digits[-2:]


def mask_text(text: str) -> str:
    return _PHONE.sub(mask_phone, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEYS.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def scrub_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if _SECRET_KEYS.search(key):
            event[key] = "***"
        else:
            event[key] = _scrub(event[key])
    return event


def configure(fmt: str = "auto", level: str = "info", *, cache: bool = True) -> None:
    """Configure structlog and the stdlib root logger (aiohttp, asyncpg log through it)."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    numeric = getattr(logging, level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # the stream is looked up when a logger is made, so a replaced sys.stderr is honoured
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=cache,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")

"""Reading and checking what the caller sent: query parameters and JSON bodies.

Every failure is a 422 that names the field and the reason. Bodies are read with a size
limit before they are parsed, so a huge body costs us at most the limit.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from inbound.api.problems import Problem, invalid

JSON_BODY_LIMIT = 64 * 1024          # one resource
RULES_BODY_LIMIT = 1024 * 1024       # a whole rules file

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MSISDN = re.compile(r"^[0-9]{3,15}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
BRAND_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes (declared or actually sent)."""
    if request.content_length is not None and request.content_length > limit:
        raise Problem(413, f"the body may be at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the body may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object(request: web.Request, limit: int = JSON_BODY_LIMIT) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Problem(415, "send the body as application/json")
    raw = await read_body(request, limit)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("body", f"not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise invalid("body", "expected a JSON object")
    check_strings(body, "body")
    return body


def check_strings(value: Any, where: str) -> None:
    """Every string (and key) of a parsed body must be storable text: PostgreSQL refuses NUL
    and lone UTF-16 surrogates, which JSON can carry (``\\u0000``, ``\\ud800``)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise invalid(where, "must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(where, "contains an unpaired UTF-16 surrogate") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_strings(key, where)
            check_strings(item, f"{where}.{key}" if where != "body" else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_strings(item, f"{where}[{i}]")


def path_text(request: web.Request, name: str, what: str) -> str:
    """A path segment used as a key; one that cannot be a stored key simply is not there."""
    value = request.match_info[name]
    if "\x00" in value or len(value) > 200:
        raise Problem(404, f"{what} not found")
    return value


def query_text(query: MultiMapping[str], name: str) -> str | None:
    value = query.get(name)
    if value is not None and ("\x00" in value or len(value) > 200):
        raise invalid(name, "at most 200 characters, no NUL")
    return value


def check_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Problem(422, f"unknown field(s): {', '.join(unknown)}",
                      errors=[{"field": f, "reason": "unknown field"} for f in unknown])


def text_field(body: dict[str, Any], name: str, *, required: bool = True,
               max_length: int = 200, pattern: re.Pattern[str] | None = None,
               allow_empty: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(name, "required")
        return None
    if not isinstance(value, str):
        raise invalid(name, "expected a string")
    if not allow_empty and not value.strip():
        raise invalid(name, "must not be empty")
    if len(value) > max_length:
        raise invalid(name, f"at most {max_length} characters")
    if "\x00" in value:
        raise invalid(name, "must not contain NUL characters")
    if pattern is not None and not pattern.match(value):
        raise invalid(name, f"must match {pattern.pattern}")
    return value


def int_field(body: dict[str, Any], name: str, *, required: bool = True,
              minimum: int = 1, maximum: int = 2**53) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(name, "required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(name, "expected an integer")
    if not minimum <= value <= maximum:
        raise invalid(name, f"must be between {minimum} and {maximum}")
    return value


def bool_field(body: dict[str, Any], name: str, *, default: bool | None = None) -> bool | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, bool):
        raise invalid(name, "expected true or false")
    return value


def string_list(body: dict[str, Any], name: str, *, max_items: int = 50,
                max_length: int = 100) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > max_items:
        raise invalid(name, f"expected a list of at most {max_items} strings")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > max_length:
            raise invalid(f"{name}[{i}]", f"expected a non-empty string of at most "
                          f"{max_length} characters")
        if "\x00" in item:
            raise invalid(f"{name}[{i}]", "must not contain NUL characters")
    return value


# -- query parameters --------------------------------------------------------------------

def limit(query: MultiMapping[str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid("limit", f"an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def cursor(query: MultiMapping[str]) -> int | None:
    """The opaque cursor of the previous page: the last id it showed."""
    raw = query.get("cursor")
    if raw is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    kind, _, number = decoded.partition(":")
    if kind != "id" or not number.isdigit() or len(number) > 18:
        raise invalid("cursor", "not a cursor this API returned")
    return int(number)


def timestamp(query: MultiMapping[str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(name, "expected an RFC 3339 date-time, e.g. 2024-05-01T00:00:00Z") from None
    if value.tzinfo is None:
        raise invalid(name, "the date-time needs a time zone (Z or +03:00)")
    return value


def choice(query: MultiMapping[str], name: str, allowed: tuple[str, ...]) -> str | None:
    raw = query.get(name)
    if raw is not None and raw not in allowed:
        raise invalid(name, f"one of {', '.join(allowed)}")
    return raw


def recipient(raw: str | None, name: str = "recipient") -> str | None:
    """An E.164 number; ``905…`` without the plus is accepted and given one."""
    if raw is None:
        return None
    value = raw if raw.startswith("+") else "+" + raw
    if not E164.match(value):
        raise invalid(name, "expected an E.164 phone number such as +905321234567")
    return value

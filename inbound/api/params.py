"""Reading and checking what the caller sent: query parameters and JSON bodies.

Every failure is a 422 that names the field and the reason. Bodies are read with a size
limit before they are parsed, so a huge body costs us at most the limit. The rules for each
kind of value live in :mod:`inbound.api.inputs`; this module applies them to requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from inbound.api import inputs
from inbound.api.inputs import UNSAFE_CHARS
from inbound.api.problems import Problem, invalid

JSON_BODY_LIMIT = 64 * 1024          # one resource
RULES_BODY_LIMIT = 1024 * 1024       # a whole rules file

# matched whole (fullmatch); openapi.py publishes the same with ``^`` and ``inputs.END``
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
MSISDN = re.compile(r"[0-9]{3,15}")
EMAIL = re.compile(f"[^@\\s{UNSAFE_CHARS}]+@[^@\\s{UNSAFE_CHARS}]+")
BRAND_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
CURSOR = re.compile(r"[0-9]{1,18}")

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
    body = inputs.parse_json(await read_body(request, limit))
    if not isinstance(body, dict):
        raise invalid("body", "expected a JSON object")
    return body


def check_strings(value: Any, where: str) -> None:
    """Every string (and key) of a parsed body must be storable text, and the body no
    deeper than ``inputs.MAX_DEPTH``."""
    inputs.check_tree(value, where)


def path_text(request: web.Request, name: str, what: str) -> str:
    """A path segment used as a key; one that cannot be a stored key simply is not there."""
    value = request.match_info[name]
    if "\x00" in value or len(value) > 200:
        raise Problem(404, f"{what} not found")
    return value


def path_id(request: web.Request, name: str) -> int:
    """A numeric id in the path (ASCII digits); anything else is an id that does not exist."""
    raw = request.match_info[name]
    if not inputs.DIGITS.fullmatch(raw) or len(raw) > 18:
        raise Problem(404, f"{name.replace('_', ' ')} not found")
    return int(raw)


def query_text(query: MultiMapping[str], name: str) -> str | None:
    value = query.get(name)
    if value is not None:
        inputs.text(value, name, max_length=200, allow_empty=True, shown=False)
    return value


def check_fields(body: dict[str, Any], allowed: Iterable[str], where: str = "") -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        fields = [f"{where}{f}" for f in unknown]
        raise Problem(422, f"unknown field(s): {', '.join(fields)}",
                      errors=[{"field": f, "reason": "unknown field"} for f in fields])


def _present(body: dict[str, Any], name: str, *, required: bool, nullable: bool,
             where: str) -> bool:
    """Whether ``name`` has a value to parse; absent or null as the field allows."""
    if name not in body:
        if required:
            raise invalid(where + name, "required")
        return False
    if body[name] is None:
        if required or not nullable:
            raise invalid(where + name, "must not be null")
        return False
    return True


def text_field(body: dict[str, Any], name: str, *, required: bool = True,
               max_length: int = 200, pattern: re.Pattern[str] | None = None,
               allow_empty: bool = False, nullable: bool = False, shown: bool = True,
               where: str = "") -> str | None:
    if not _present(body, name, required=required, nullable=nullable, where=where):
        return None
    return inputs.text(body[name], where + name, max_length=max_length, pattern=pattern,
                       allow_empty=allow_empty, shown=shown)


def int_field(body: dict[str, Any], name: str, *, required: bool = True,
              minimum: int = 1, maximum: int = 2**53, nullable: bool = False,
              where: str = "") -> int | None:
    if not _present(body, name, required=required, nullable=nullable, where=where):
        return None
    return inputs.integer(body[name], where + name, minimum=minimum, maximum=maximum)


def bool_field(body: dict[str, Any], name: str, *, default: bool | None = None,
               where: str = "") -> bool | None:
    if name not in body:
        return default
    value = body[name]
    if not isinstance(value, bool):
        raise invalid(where + name, "expected true or false")
    return value


def string_list(body: dict[str, Any], name: str, *, max_items: int = 50,
                max_length: int = 100, pattern: re.Pattern[str] | None = None,
                where: str = "") -> list[str] | None:
    if not _present(body, name, required=False, nullable=False, where=where):
        return None
    value = body[name]
    if not isinstance(value, list) or len(value) > max_items:
        raise invalid(where + name, f"expected a list of at most {max_items} strings")
    for i, item in enumerate(value):
        inputs.text(item, f"{where}{name}[{i}]", max_length=max_length, pattern=pattern)
    return value


# -- query parameters --------------------------------------------------------------------

def only(query: MultiMapping[str], allowed: Iterable[str]) -> None:
    """Refuse query parameters the operation does not have (a typo would otherwise be a
    filter silently not applied)."""
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise Problem(422, f"unknown query parameter(s): {', '.join(unknown)}",
                      errors=[{"field": f, "reason": "unknown query parameter"}
                              for f in unknown])


def limit(query: MultiMapping[str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    return inputs.digits(raw, "limit", minimum=1, maximum=MAX_LIMIT)


def encode_cursor(last_id: int) -> str:
    return str(last_id)


def cursor(query: MultiMapping[str]) -> int | None:
    """The cursor of the previous page (the last id it showed); empty: the first page."""
    raw = query.get("cursor")
    if not raw:
        return None
    if not CURSOR.fullmatch(raw):
        raise invalid("cursor", "not a cursor this API returned")
    return int(raw)


def timestamp(query: MultiMapping[str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    return inputs.date_time(raw, name)


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
    if not E164.fullmatch(value):
        raise invalid(name, "expected an E.164 phone number such as +905321234567")
    return value

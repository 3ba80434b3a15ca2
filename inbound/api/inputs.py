"""The typed parsers every value from a caller goes through, for the API and the web page.

One place decides what a number, a date, a piece of text or a JSON body may be, so that the
API, the page (which calls the API's handlers) and the rules import refuse the same things
the same way: a 422 ``application/problem+json`` naming the field (``errors: [{field,
reason}]``). The rules, each matching a column or what İYS and an SMS can carry:

* integers: ASCII digits only (``²`` and ``٣`` pass ``str.isdigit`` and break ``int()``),
  within the column's range; in JSON an integral number such as ``2.0`` is that integer
  (JSON Schema's definition of ``integer``), ``2.5``, ``NaN`` and ``true`` are not;
* date-times: RFC 3339 with a zone, the year as written from 1900 to 9998, so that any
  offset stays inside what PostgreSQL and Python can store;
* text that is shown on the page or sent by SMS: no control characters (C0, DEL, C1), no
  bidirectional marks or overrides, no line or paragraph separators: one of them in a brand
  name reorders the page around it, and a control character would go out in a reply;
* patterns are matched whole (``fullmatch``): ``$`` lets ``"acme\\n"`` through;
* JSON bodies: at most ``MAX_DEPTH`` levels (a 5,000-deep array is 10 KiB and would exhaust
  the recursion of everything that walks it), no ``NaN``/``Infinity``, at most
  ``MAX_INT_DIGITS`` digits per number.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from inbound.api.problems import invalid

MAX_DEPTH = 32
MAX_INT_DIGITS = 30
BIGINT_MAX = 2**63 - 1
ID_MAX = 2**62 - 1          # owner and token ids (bigserial, far below the column's end)
CODE_MAX = 10**15           # İYS code and brand code (bigint columns; İYS's are 6 digits)

# characters refused in text that is shown or sent: C0, DEL, C1, the Arabic letter mark, the
# left-to-right/right-to-left marks, line and paragraph separators, bidi embeddings,
# overrides and isolates
UNSAFE_CHARS = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
# the end of the text, in a form that ECMA-262 (OpenAPI's patterns) and Python read alike:
# ``$`` also matches before a final newline in Python
END = r"(?![\s\S])"

DIGITS = re.compile(r"[0-9]+")
_RFC3339 = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})[Tt](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})"
    r":(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]+))?(?P<z>[Zz]|[+-][0-9]{2}:[0-9]{2})")
FIRST_YEAR, LAST_YEAR = 1900, 9998
# the same rule for the OpenAPI document (with ``format: date-time``)
DATE_TIME_PATTERN = r"^(19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"


# -- integers --------------------------------------------------------------------------

def digits(raw: str, field: str, *, minimum: int, maximum: int) -> int:
    """A decimal integer written in ASCII digits, within [minimum, maximum]."""
    if not DIGITS.fullmatch(raw) or len(raw) > len(str(maximum)):
        raise invalid(field, f"an integer from {minimum} to {maximum}, in ASCII digits")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise invalid(field, f"an integer from {minimum} to {maximum}")
    return value


def integer(value: Any, field: str, *, minimum: int, maximum: int) -> int:
    """A JSON integer (``2.0`` counts as 2, as in JSON Schema) within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, "expected an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise invalid(field, "expected an integer")
        if not minimum <= value <= maximum:
            raise invalid(field, f"must be between {minimum} and {maximum}")
        value = int(value)
    if not minimum <= value <= maximum:
        raise invalid(field, f"must be between {minimum} and {maximum}")
    return value


# -- date-times ------------------------------------------------------------------------

def date_time(raw: str, field: str) -> datetime:
    """An RFC 3339 date-time with its zone, years 1900 to 9998 as written."""
    found = _RFC3339.fullmatch(raw)
    if found is None:
        raise invalid(field, "expected an RFC 3339 date-time with a zone, e.g. "
                      "2024-05-01T00:00:00Z or 2024-05-01T03:00:00+03:00")
    year = int(found["y"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise invalid(field, f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    zone = found["z"]
    if zone in ("Z", "z"):
        tz = UTC
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise invalid(field, "the offset must be within ±23:59")
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    fraction = (found["f"] or "").ljust(6, "0")[:6]
    try:
        return datetime(year, int(found["mo"]), int(found["d"]), int(found["h"]),
                        int(found["mi"]), int(found["s"]), int(fraction), tzinfo=tz)
    except ValueError as exc:  # 2024-02-30, 25:00, second 60 …
        raise invalid(field, f"not a real date-time: {exc}") from None


# -- text -----------------------------------------------------------------------------

def check_storable(value: str, field: str) -> str:
    """Text PostgreSQL can store: no NUL, no lone UTF-16 surrogate (JSON can carry both)."""
    if "\x00" in value:
        raise invalid(field, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(field, "contains an unpaired UTF-16 surrogate") from None
    return value


def text(value: Any, field: str, *, max_length: int, allow_empty: bool = False,
         pattern: re.Pattern[str] | None = None, shown: bool = True) -> str:
    """A string of at most ``max_length`` characters; ``shown``: no control or bidi
    characters; ``pattern``: matched whole."""
    if not isinstance(value, str):
        raise invalid(field, "expected a string")
    check_storable(value, field)
    if not allow_empty and not value.strip():
        raise invalid(field, "must not be empty")
    if len(value) > max_length:
        raise invalid(field, f"at most {max_length} characters")
    if shown and UNSAFE.search(value):
        raise invalid(field, "must not contain control characters or bidirectional marks")
    if pattern is not None and not pattern.fullmatch(value):
        raise invalid(field, f"must match {pattern.pattern}")
    return value


# -- JSON -----------------------------------------------------------------------------

def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(raw: str) -> int:
    if len(raw.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(raw)


def parse_json(raw: bytes | str, field: str = "body") -> Any:
    """A JSON document, refused (422) when malformed, deeper than ``MAX_DEPTH``, or carrying
    ``NaN``, ``Infinity``, overlong integers, NUL or unpaired surrogates."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise invalid(field, f"not valid UTF-8 ({exc})") from None
    if _bracket_depth(raw) > MAX_DEPTH:
        raise invalid(field, f"nested more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:
        raise invalid(field, f"not valid JSON ({str(exc)[:200]})") from None
    check_tree(value, field)
    return value


def _bracket_depth(raw: str) -> int:
    """The deepest nesting of ``[``/``{`` outside strings, without recursion: refuses a deep
    document before the parser (which recurses) ever sees it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_tree(value: Any, field: str = "body") -> None:
    """Every level of a parsed document: at most ``MAX_DEPTH`` deep, every string and key
    storable. Iterative, so no depth can exhaust the stack (TOML bodies come here too)."""
    stack: list[tuple[Any, str, int]] = [(value, field, 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            check_storable(item, where)
            continue
        if isinstance(item, float) and (item != item or abs(item) == float("inf")):
            raise invalid(where, "NaN and Infinity are not numbers here")
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise invalid(where, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            for key, child in item.items():
                check_storable(str(key), where)
                stack.append((child, key if where == "body" else f"{where}.{key}", depth + 1))
        else:
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))

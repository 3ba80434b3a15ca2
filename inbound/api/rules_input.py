"""The rules file as the API imports it (``PUT /rules``): every entry checked field by field
with the same parsers as ``POST /brands`` and ``POST /numbers``, before the whole file goes
to ``keywords.RuleSet.from_dict`` (which judges what only the whole file can tell: a word two
brands claim, a number naming a brand that is not there: 409)."""

from __future__ import annotations

import tomllib
from typing import Any

from aiohttp import web

from inbound.api import inputs, params, resources
from inbound.api.problems import Problem, invalid

BRAND_KEYS = ("id", "name", "aliases", "iys_code", "brand_code", "owner", "replies",
              "review_auto_ret", *resources.VOCABULARY_KEYS)
NUMBER_KEYS = ("msisdn", "shared", "brand", "brands", "replies", *resources.VOCABULARY_KEYS)


async def read(request: web.Request) -> dict[str, Any]:
    """The rules file of the request (TOML or JSON), checked entry by entry."""
    raw = await params.read_body(request, params.RULES_BODY_LIMIT)
    if request.content_type == "application/toml":
        try:
            data: Any = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise invalid("body", f"not valid TOML: {exc}") from None
        except RecursionError:
            raise invalid("body", f"nested more than {inputs.MAX_DEPTH} levels deep") from None
        inputs.check_tree(data)
    elif request.content_type == "application/json":
        data = inputs.parse_json(raw)
    else:
        raise Problem(415, "send the rules as application/toml or application/json")
    if not isinstance(data, dict):
        raise invalid("body", "expected a table / object with [[number]] and [[brand]]")
    check(data)
    return data


def check(data: dict[str, Any]) -> None:
    params.check_fields(data, ("brand", "number"))
    for key, entry_check in (("brand", _brand), ("number", _number)):
        entries = data.get(key, [])
        if not isinstance(entries, list):
            raise invalid(key, "expected a list of tables")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise invalid(f"{key}[{i}]", "expected a table")
            entry_check(entry, f"{key}[{i}].")


def _settings(entry: dict[str, Any], where: str, keys: tuple[str, ...]) -> None:
    resources.check_vocabulary(entry, where[:-1], extra_keys=keys)
    if "replies" in entry:
        resources.check_replies(entry["replies"], f"{where}replies")


def _brand(entry: dict[str, Any], where: str) -> None:
    params.check_fields(entry, BRAND_KEYS, where)
    params.text_field(entry, "id", pattern=params.BRAND_ID, max_length=63, where=where)
    resources.brand_name(entry, required=True, where=where)
    params.string_list(entry, "aliases", where=where)
    resources.brand_codes(entry, entry, required=True, where=where)  # 2.0 becomes 2
    owner = params.int_field(entry, "owner", required=False, maximum=inputs.ID_MAX,
                             where=where)
    if owner is not None:
        entry["owner"] = owner
    _settings(entry, where, BRAND_KEYS)


def _number(entry: dict[str, Any], where: str) -> None:
    params.check_fields(entry, NUMBER_KEYS, where)
    params.text_field(entry, "msisdn", pattern=params.MSISDN, max_length=15, where=where)
    shared = params.bool_field(entry, "shared", default=False, where=where)
    brand = params.text_field(entry, "brand", required=False, pattern=params.BRAND_ID,
                              max_length=63, where=where)
    params.string_list(entry, "brands", max_items=500, max_length=63, pattern=params.BRAND_ID,
                       where=where)
    if not shared and not brand:
        raise invalid(f"{where}brand", "a dedicated number (shared: false) needs its brand")
    _settings(entry, where, NUMBER_KEYS)

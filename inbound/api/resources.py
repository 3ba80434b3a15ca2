"""Views and input checks for the configuration resources: brands, numbers, vocabularies,
reply templates. Pure functions over the rules dict (``changes.Config``); no I/O.

Visibility: a brand owner sees its own brands, its brands' dedicated numbers and the shared
numbers that serve its brands — on a shared number only its own brands are listed. Another
owner's brand is answered exactly like a brand that does not exist (404), so an owner cannot
learn which brand ids others use, except that creating a brand whose id is taken is a 409.
"""

from __future__ import annotations

import re
from typing import Any

from inbound.api import inputs, params
from inbound.api.auth import Caller
from inbound.api.changes import Config
from inbound.api.problems import Problem, invalid

VOCABULARY_LISTS = ("extra_opt_out", "removed_opt_out", "extra_opt_in", "removed_opt_in")
VOCABULARY_KEYS = (*VOCABULARY_LISTS, "extra_channels")
REPLY_KEYS = ("RET", "ONAY", "ambiguous", "unknown_brand")
CHANNEL_TYPES = ("MESAJ", "ARAMA")


def owns(caller: Caller, config: Config, brand_id: str) -> bool:
    return brand_id in config.owners and (caller.admin
                                          or config.owners[brand_id] == caller.owner_id)


def visible_brand(caller: Caller, config: Config, brand_id: str) -> dict[str, Any]:
    brand = config.brand(brand_id)
    if brand is None or not owns(caller, config, brand_id):
        raise Problem(404, f"brand {brand_id!r} not found")
    return brand


def vocabulary_of(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in VOCABULARY_KEYS if k in item}


def brand_view(config: Config, brand: dict[str, Any]) -> dict[str, Any]:
    return {"id": brand["id"], "name": brand["name"], "aliases": list(brand.get("aliases", [])),
            "iys_code": brand["iys_code"], "brand_code": brand["brand_code"],
            "owner_id": config.owners.get(brand["id"]),
            "vocabulary": vocabulary_of(brand), "replies": dict(brand.get("replies", {})),
            "review_auto_ret": brand.get("review_auto_ret", True),
            "privacy_notice": brand.get("privacy_notice")}


def number_visible(caller: Caller, config: Config, number: dict[str, Any]) -> bool:
    if caller.admin:
        return True
    if not number.get("shared"):
        return owns(caller, config, number.get("brand") or "")
    served = number.get("brands") or list(config.owners)
    return any(owns(caller, config, b) for b in served)


def number_view(caller: Caller, config: Config, number: dict[str, Any],
                links: list[str]) -> dict[str, Any]:
    brands = list(number.get("brands", []))
    if not caller.admin:
        brands = [b for b in brands if owns(caller, config, b)]
    return {"msisdn": number["msisdn"], "shared": bool(number.get("shared")),
            "brand": number.get("brand"), "brands": brands, "links": links,
            "vocabulary": vocabulary_of(number), "replies": dict(number.get("replies", {}))}


def visible_number(caller: Caller, config: Config, msisdn: str) -> dict[str, Any]:
    number = config.number(msisdn)
    if number is None or not number_visible(caller, config, number):
        raise Problem(404, f"number {msisdn!r} not found")
    return number


# -- input -------------------------------------------------------------------------------

def _prefix(field: str) -> str:
    return "" if field == "body" else f"{field}."


def check_vocabulary(value: Any, field: str = "vocabulary", *,
                     extra_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The vocabulary keys of ``value`` (an object; ``extra_keys`` may be there too, for the
    rules file's entries that carry their vocabulary beside other keys)."""
    if not isinstance(value, dict):
        raise invalid(field, "expected an object")
    where = _prefix(field)
    params.check_fields(value, {*VOCABULARY_KEYS, *extra_keys}, where)
    out: dict[str, Any] = {}
    for key in VOCABULARY_LISTS:
        words = params.string_list(value, key, max_length=40, where=where)
        if words:
            out[key] = words
    if "extra_channels" not in value:
        return out
    channels = value["extra_channels"]
    if not isinstance(channels, dict) or len(channels) > 50:
        raise invalid(f"{where}extra_channels",
                      "expected an object of at most 50 words → [MESAJ|ARAMA]")
    for word, types in channels.items():
        inputs.text(word, f"{where}extra_channels", max_length=40)
        if (not isinstance(types, list) or not types
                or any(t not in CHANNEL_TYPES for t in types)):
            raise invalid(f"{where}extra_channels.{word}",
                          "expected a non-empty list of MESAJ and/or ARAMA")
    if channels:
        out["extra_channels"] = {w: list(dict.fromkeys(t)) for w, t in channels.items()}
    return out


def check_replies(value: Any, field: str = "replies") -> dict[str, str]:
    """Reply templates: they go out by SMS, so no control or bidi characters."""
    if not isinstance(value, dict):
        raise invalid(field, "expected an object")
    where = _prefix(field)
    params.check_fields(value, set(REPLY_KEYS), where)
    for key, template in value.items():
        inputs.text(template, f"{where}{key}", max_length=640, allow_empty=True)
    return dict(value)


PRIVACY_URL = re.compile(f"https?://[^\\s{inputs.UNSAFE_CHARS}]+")


def check_privacy_notice(value: Any, field: str = "privacy_notice") -> dict[str, str]:
    """The consent-link page's KVKK notice: ``{"url": "https://…"}`` or ``{"text": "…"}``."""
    if not isinstance(value, dict):
        raise invalid(field, "expected an object")
    params.check_fields(value, {"url", "text"}, f"{field}.")
    if len(value) != 1:
        raise invalid(field, "exactly one of url or text")
    if "url" in value:
        return {"url": inputs.text(value["url"], f"{field}.url", max_length=500,
                                   pattern=PRIVACY_URL)}
    return {"text": inputs.text(value["text"], f"{field}.text", max_length=2000)}


def set_settings(item: dict[str, Any], vocabulary: dict[str, Any] | None,
                 replies: dict[str, str] | None) -> None:
    """Replace an item's vocabulary and/or replies (None: leave as is)."""
    if vocabulary is not None:
        for key in VOCABULARY_KEYS:
            item.pop(key, None)
        item.update(vocabulary)
    if replies is not None:
        item.pop("replies", None)
        if replies:
            item["replies"] = replies


def brand_name(body: dict[str, Any], *, required: bool, where: str = "") -> str | None:
    return params.text_field(body, "name", required=required, where=where)


def brand_codes(body: dict[str, Any], item: dict[str, Any], *, required: bool,
                where: str = "") -> None:
    for key in ("iys_code", "brand_code"):
        code = params.int_field(body, key, required=required, maximum=inputs.CODE_MAX,
                                where=where)
        if code is not None:
            item[key] = code


def brand_input(caller: Caller, config: Config, body: dict[str, Any], *,
                brand: dict[str, Any] | None) -> dict[str, Any]:
    """A new or updated brand dict from a request body (``brand`` None: creation)."""
    creating = brand is None
    allowed = {"name", "aliases", "iys_code", "brand_code", "owner_id", "vocabulary", "replies",
               "review_auto_ret", "privacy_notice"}
    params.check_fields(body, allowed | ({"id"} if creating else set()))
    item = dict(brand) if brand is not None else {
        "id": params.text_field(body, "id", pattern=params.BRAND_ID, max_length=63)}
    name = brand_name(body, required=creating)
    if name is not None:
        item["name"] = name
    aliases = params.string_list(body, "aliases")
    if aliases is not None:
        item["aliases"] = aliases
    item.setdefault("aliases", [])
    brand_codes(body, item, required=creating)
    params.int_field(body, "owner_id", required=False, maximum=inputs.ID_MAX, nullable=True)
    set_settings(item,
                 check_vocabulary(body["vocabulary"]) if "vocabulary" in body else None,
                 check_replies(body["replies"]) if "replies" in body else None)
    auto_ret = params.bool_field(body, "review_auto_ret", default=None)
    if auto_ret is not None:  # stored only when switched off: true is the default
        item.pop("review_auto_ret", None)
        if not auto_ret:
            item["review_auto_ret"] = False
    if "privacy_notice" in body:   # null: the service's default notice
        item.pop("privacy_notice", None)
        if body["privacy_notice"] is not None:
            item["privacy_notice"] = check_privacy_notice(body["privacy_notice"])
    if "owner_id" in body and not caller.admin:
        raise Problem(403, "only the operator assigns brands to owners",
                      errors=[{"field": "owner_id", "reason": "admin only"}])
    return item


def number_input(body: dict[str, Any], *, number: dict[str, Any] | None) -> dict[str, Any]:
    creating = number is None
    allowed = {"shared", "brand", "brands", "links", "vocabulary", "replies"}
    params.check_fields(body, allowed | ({"msisdn"} if creating else set()))
    item = dict(number) if number is not None else {
        "msisdn": params.text_field(body, "msisdn", pattern=params.MSISDN, max_length=15)}
    shared = params.bool_field(body, "shared", default=None if not creating else False)
    if shared is not None:
        item["shared"] = shared
    if "brand" in body:
        brand = params.text_field(body, "brand", required=False, max_length=63,
                                  pattern=params.BRAND_ID, nullable=True)
        item.pop("brand", None)
        if brand:
            item["brand"] = brand
    brands = params.string_list(body, "brands", max_items=500, max_length=63,
                                pattern=params.BRAND_ID)
    if brands is not None:
        item.pop("brands", None)
        if brands:
            item["brands"] = brands
    if item.get("shared"):
        item.pop("brand", None)
    elif not item.get("brand"):
        reason = "a dedicated number (shared: false) needs its brand"
        if not creating:  # the body alone is fine; with the number as it is, it is not
            raise Problem(409, f"brand: {reason}", errors=[{"field": "brand", "reason": reason}])
        raise invalid("brand", reason)
    else:
        item.pop("brands", None)
    set_settings(item,
                 check_vocabulary(body["vocabulary"]) if "vocabulary" in body else None,
                 check_replies(body["replies"]) if "replies" in body else None)
    return item

"""Reading brands and numbers from the rules file's tables, collecting every problem."""

from __future__ import annotations

from typing import Any

from keywords.models import BRAND_ID, Brand, Conflict, Number
from keywords.normalize import fold
from keywords.vocabulary import VOCABULARY_KEYS, Vocabulary


def _problem(where: str, message: str) -> Conflict:
    return Conflict(None, where, (), f"{where}: {message}")


def parse_brand(raw: Any, index: int, problems: list[Conflict]) -> Brand | None:
    where = f"brand[{index}]"
    if not isinstance(raw, dict):
        problems.append(_problem(where, "expected a table"))
        return None
    missing = [k for k in ("id", "name", "iys_code", "brand_code") if k not in raw]
    if missing:
        problems.append(_problem(where, f"missing {', '.join(missing)}"))
        return None
    where = f"brand[{raw['id']}]"
    ok = True
    for key in ("iys_code", "brand_code"):
        if not isinstance(raw[key], int) or isinstance(raw[key], bool) or raw[key] <= 0:
            problems.append(_problem(f"{where}.{key}", "must be a positive integer"))
            ok = False
    known = {"id", "name", "aliases", "iys_code", "brand_code", "replies", "owner",
             "review_auto_ret", "privacy_notice", *VOCABULARY_KEYS}
    for key in sorted(set(raw) - known):
        problems.append(_problem(f"{where}.{key}", "unknown key"))
        ok = False
    # read by the service's review queue (inbound/reviews.py), not by the matcher
    if not isinstance(raw.get("review_auto_ret", True), bool):
        problems.append(_problem(f"{where}.review_auto_ret", "must be true or false"))
        ok = False
    notice = raw.get("privacy_notice")
    if notice is not None and not privacy_notice_ok(notice):
        problems.append(_problem(f"{where}.privacy_notice",
                                 'must be {url = "https://…"} or {text = "…"}'))
        ok = False
    if not isinstance(raw["id"], str) or not BRAND_ID.fullmatch(raw["id"]):
        problems.append(_problem(f"{where}.id", "must be a short slug: a-z, 0-9, '-', '_'"))
        ok = False
    if not isinstance(raw["name"], str) or not fold(raw["name"]):
        problems.append(_problem(f"{where}.name", "must contain letters or digits"))
        ok = False
    if not _shape_ok(where, raw, ("aliases",), problems) or not ok:
        return None
    return Brand(str(raw["id"]), str(raw["name"]), raw["iys_code"], raw["brand_code"],
                 tuple(str(a) for a in raw.get("aliases", [])), Vocabulary.from_dict(raw),
                 tuple((str(k), str(v)) for k, v in (raw.get("replies") or {}).items()),
                 raw.get("review_auto_ret", True),
                 tuple((str(k), str(v)) for k, v in (raw.get("privacy_notice") or {}).items()))


def privacy_notice_ok(notice: Any) -> bool:
    """The link page's KVKK notice: one key, ``url`` (http(s)://) or ``text``, a string."""
    if not isinstance(notice, dict) or len(notice) != 1:
        return False
    (key, value), = notice.items()
    if key == "url":
        return isinstance(value, str) and value.startswith(("https://", "http://"))
    return key == "text" and isinstance(value, str) and bool(value.strip())


def parse_number(raw: Any, index: int, problems: list[Conflict]) -> Number | None:
    where = f"number[{index}]"
    if not isinstance(raw, dict) or "msisdn" not in raw:
        problems.append(_problem(where, "expected a table with msisdn"))
        return None
    msisdn = str(raw["msisdn"])
    where = f"number[{msisdn}]"
    if not msisdn.lstrip("+").isdigit():
        problems.append(_problem(f"{where}.msisdn", "must be digits"))
        return None
    shared = bool(raw.get("shared", False))
    if not shared and not raw.get("brand"):
        problems.append(_problem(where, "a dedicated number needs brand = \"<id>\" "
                                        "(or shared = true)"))
        return None
    known = {"msisdn", "shared", "brand", "brands", "replies", *VOCABULARY_KEYS}
    unknown = sorted(set(raw) - known)
    problems += [_problem(f"{where}.{key}", "unknown key") for key in unknown]
    if not _shape_ok(where, raw, ("brands",), problems) or unknown:
        return None
    return Number(msisdn.lstrip("+"), shared, raw.get("brand"), tuple(raw.get("brands", [])),
                  Vocabulary.from_dict(raw),
                  tuple((str(k), str(v)) for k, v in (raw.get("replies") or {}).items()))


def _shape_ok(where: str, raw: dict[str, Any], lists: tuple[str, ...],
              problems: list[Conflict]) -> bool:
    """Lists of strings, channel and reply tables: the types the model relies on."""
    before = len(problems)
    for key in (*lists, *VOCABULARY_KEYS[:4]):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(_problem(f"{where}.{key}", "must be a list of strings"))
    channels = raw.get("extra_channels", {})
    if not isinstance(channels, dict) or not all(
            isinstance(t, str) or isinstance(t, list) and all(isinstance(x, str) for x in t)
            for t in channels.values()):
        problems.append(_problem(f"{where}.extra_channels",
                                 "must map words to MESAJ and/or ARAMA"))
    replies = raw.get("replies", {})
    if not isinstance(replies, dict) or not all(isinstance(t, str) for t in replies.values()):
        problems.append(_problem(f"{where}.replies", "must map RET, ONAY, ambiguous or "
                                                     "unknown_brand to a template"))
    return len(problems) == before

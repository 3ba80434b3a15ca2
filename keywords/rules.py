"""The rules file: numbers, brands and vocabularies, validated as a whole.

The same shape is the TOML file (`rules import/export`), the brand-owner API's import format
and what the database stores (``inbound.store.load_rules_dict``)::

    [[number]]                     [[brand]]
    msisdn = "4609"                id = "acme"
    shared = true                  name = "ACME"
                                   aliases = ["ACME MARKET"]
    [[number]]                     iys_code = 700001
    msisdn = "908505320000"        brand_code = 700001
    brand = "acme"                 extra_opt_out = ["BITIR"]      # optional vocabulary
                                   replies = { RET = "…", ONAY = "…" }

A shared number serves every brand unless it lists ``brands = [...]``. Validation reports
every problem at once (:class:`RulesError`), so an import is all or nothing.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import tomli_w

from keywords.normalize import fold
from keywords.vocabulary import (
    CHANNEL_TYPES,
    VOCABULARY_KEYS,
    Meaning,
    Vocabulary,
    number_words,
)

REPLY_KEYS = ("RET", "ONAY", "ambiguous", "unknown_brand")
REPLY_PLACEHOLDERS = ("brand", "number")


@dataclass(frozen=True)
class Conflict:
    number: str | None
    word: str
    meanings: tuple[str, ...]
    message: str


class RulesError(Exception):
    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__("; ".join(c.message for c in conflicts))
        self.conflicts = conflicts


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    iys_code: int
    brand_code: int
    aliases: tuple[str, ...] = ()
    vocabulary: Vocabulary = Vocabulary()
    replies: tuple[tuple[str, str], ...] = ()  # (outcome or status, template)

    @property
    def phrases(self) -> tuple[str, ...]:
        """Folded words that name the brand: name, aliases and the İYS brand code."""
        found = [fold(self.name), *(fold(a) for a in self.aliases), str(self.brand_code)]
        return tuple(dict.fromkeys(p for p in found if p))


@dataclass(frozen=True)
class Number:
    msisdn: str
    shared: bool = False
    brand: str | None = None
    brands: tuple[str, ...] = ()      # shared number: the brands it serves (empty: all)
    vocabulary: Vocabulary = Vocabulary()
    replies: tuple[tuple[str, str], ...] = ()


def msisdn_variants(value: str) -> set[str]:
    """Spellings of one number as an SMSC may send it: 908505320000, 08505320000, 8505320000."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits.startswith("00"):
        digits = digits[2:]
    variants = {digits}
    if len(digits) == 12 and digits.startswith("90"):
        variants |= {digits[2:], "0" + digits[2:]}
    elif len(digits) == 11 and digits.startswith("0"):
        variants |= {digits[1:], "90" + digits[1:]}
    elif len(digits) == 10 and digits[0] in "58":
        variants |= {"0" + digits, "90" + digits}
    return variants


@dataclass(frozen=True)
class RuleSet:
    numbers: tuple[Number, ...] = ()
    brands: tuple[Brand, ...] = ()

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_toml(cls, text: str) -> RuleSet:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError([Conflict(None, "", (), f"not valid TOML: {exc}")]) from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleSet:
        problems: list[Conflict] = []
        brands = [b for i, raw in enumerate(data.get("brand", []) or [])
                  if (b := _brand(raw, i, problems)) is not None]
        numbers = [n for i, raw in enumerate(data.get("number", []) or [])
                   if (n := _number(raw, i, problems)) is not None]
        unknown = set(data) - {"brand", "number"}
        problems += [Conflict(None, k, (), f"unknown top-level key {k!r}") for k in sorted(unknown)]
        rules = cls(tuple(numbers), tuple(brands))
        problems += rules.validate()
        if problems:
            raise RulesError(problems)
        return rules

    def to_dict(self) -> dict[str, Any]:
        brands = []
        for b in self.brands:
            item: dict[str, Any] = {"id": b.id, "name": b.name, "aliases": list(b.aliases),
                                    "iys_code": b.iys_code, "brand_code": b.brand_code}
            item.update(b.vocabulary.to_dict())
            if b.replies:
                item["replies"] = dict(b.replies)
            brands.append(item)
        numbers = []
        for n in self.numbers:
            num: dict[str, Any] = {"msisdn": n.msisdn, "shared": n.shared}
            if n.brand:
                num["brand"] = n.brand
            if n.brands:
                num["brands"] = list(n.brands)
            num.update(n.vocabulary.to_dict())
            if n.replies:
                num["replies"] = dict(n.replies)
            numbers.append(num)
        return {"number": numbers, "brand": brands}

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    # -- lookups -----------------------------------------------------------------------
    @cached_property
    def _numbers_by_variant(self) -> dict[str, Number]:
        index: dict[str, Number] = {}
        for number in self.numbers:
            for variant in msisdn_variants(number.msisdn):
                index.setdefault(variant, number)
        return index

    @cached_property
    def match_cache(self) -> dict[str, Any]:
        """Per-number lookup tables built once by ``keywords.match`` (the rules are frozen)."""
        return {}

    @cached_property
    def brands_by_id(self) -> dict[str, Brand]:
        return {b.id: b for b in self.brands}

    @cached_property
    def _destinations(self) -> dict[str, Number | None]:
        """Destination as the SMSC wrote it → number; a link sends few distinct spellings."""
        return {}

    def number_for(self, destination_addr: str) -> Number | None:
        """The configured number, whichever way the SMSC spells it (+90…, 0850…, 850…)."""
        known = self._destinations
        if destination_addr in known:
            return known[destination_addr]
        found = next((n for v in msisdn_variants(destination_addr)
                      if (n := self._numbers_by_variant.get(v)) is not None), None)
        if len(known) >= 1024:  # bounded: a peer may send arbitrary destinations
            known.clear()
        known[destination_addr] = found
        return found

    def brand(self, brand_id: str) -> Brand:
        return self.brands_by_id[brand_id]

    def brands_on(self, number: Number) -> tuple[Brand, ...]:
        if not number.shared:
            found = self.brands_by_id.get(number.brand or "")
            return (found,) if found else ()
        if number.brands:
            return tuple(self.brands_by_id[b] for b in number.brands if b in self.brands_by_id)
        return self.brands

    def vocabulary_on(self, number: Number) -> dict[str, Meaning]:
        """Folded word → meaning for the action, channel and TACIR words of a number."""
        return self._words_on(number)[0]

    def _words_on(self, number: Number) -> tuple[dict[str, Meaning], list[Conflict]]:
        brands = self.brands_on(number)
        words, clashes = number_words(number.vocabulary, ((b.id, b.vocabulary) for b in brands),
                                      dedicated=not number.shared)
        where = number.msisdn
        problems = [Conflict(where, word, meanings,
                             f"on {where}, {word!r} is both {_both(meanings)} word")
                    for word, meanings in clashes]
        return words, problems

    # -- validation --------------------------------------------------------------------
    def validate(self) -> list[Conflict]:
        """Every problem of the rule set (an empty list: the rules are usable)."""
        problems: list[Conflict] = []
        seen: set[str] = set()
        for b in self.brands:
            if b.id in seen:
                problems.append(Conflict(None, b.id, (), f"brand {b.id!r} is defined twice"))
            seen.add(b.id)
            problems += _reply_problems(f"brand {b.id}", b.replies)
            problems += _channel_problems(f"brand {b.id}", b.vocabulary)
        spellings: dict[str, str] = {}
        for n in self.numbers:
            # 908505320000 and 08505320000 are one number: an SMSC may send either
            twin = next((spellings[v] for v in msisdn_variants(n.msisdn) if v in spellings), None)
            if twin is not None:
                same = "is defined twice" if twin == n.msisdn else f"is the same number as {twin}"
                problems.append(Conflict(n.msisdn, n.msisdn, (), f"number {n.msisdn} {same}"))
            spellings.update(dict.fromkeys(msisdn_variants(n.msisdn), n.msisdn))
            if n.shared and n.brand:
                problems.append(Conflict(n.msisdn, n.brand, (),
                                         f"number {n.msisdn} is shared but names brand "
                                         f"{n.brand!r}: a brand's own number is not shared"))
            if not n.shared and n.brands:
                problems.append(Conflict(n.msisdn, ",".join(n.brands), (),
                                         f"number {n.msisdn} is dedicated: it cannot list "
                                         "brands (set shared = true)"))
            for ref in ([n.brand] if n.brand else []) + list(n.brands):
                if ref not in seen:
                    problems.append(Conflict(n.msisdn, ref, (),
                                             f"number {n.msisdn} names unknown brand {ref!r}"))
            problems += _reply_problems(f"number {n.msisdn}", n.replies)
            problems += _channel_problems(f"number {n.msisdn}", n.vocabulary)
            problems += self._word_conflicts(n)
        return problems

    def _word_conflicts(self, number: Number) -> list[Conflict]:
        """On one number no word may mean two things (two brands, or a brand and an action)."""
        vocab, problems = self._words_on(number)
        where = number.msisdn
        owners: dict[str, list[str]] = {}
        for brand in self.brands_on(number):
            for phrase in brand.phrases:
                owners.setdefault(phrase, []).append(brand.id)
        for phrase, ids in owners.items():
            if len(set(ids)) > 1:
                problems.append(Conflict(where, phrase, tuple(f"brand:{i}" for i in ids),
                                         f"on {where}, {phrase!r} names several brands: "
                                         f"{', '.join(sorted(set(ids)))}"))
            if phrase in vocab:
                kind = vocab[phrase].kind
                problems.append(Conflict(where, phrase, (f"brand:{ids[0]}", kind),
                                         f"on {where}, brand word {phrase!r} of {ids[0]} is "
                                         f"also {'an' if kind[0] in 'aeiou' else 'a'} {kind} "
                                         "word"))
        return problems


def _both(meanings: tuple[str, ...]) -> str:
    named = [f"{'an' if m[0] in 'aeiou' else 'a'} {m}" for m in meanings]
    return " and ".join(named)


def _reply_problems(where: str, replies: tuple[tuple[str, str], ...]) -> list[Conflict]:
    problems = []
    for key, template in replies:
        if key not in REPLY_KEYS:
            problems.append(Conflict(None, key, (), f"{where}: unknown reply {key!r} (known: "
                                                    f"{', '.join(REPLY_KEYS)})"))
            continue
        for field_name in _placeholders(template):
            if field_name not in REPLY_PLACEHOLDERS:
                problems.append(Conflict(None, key, (),
                                         f"{where}: reply {key} uses unknown placeholder "
                                         f"{{{field_name}}} (known: {{brand}}, {{number}})"))
    return problems


def _placeholders(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:  # a lone "{" or "}": shown as typed, not a placeholder
        return []


def _channel_problems(where: str, vocabulary: Vocabulary) -> list[Conflict]:
    return [Conflict(None, word, (), f"{where}: channel word {word!r} must mean MESAJ and/or "
                                     f"ARAMA, not {', '.join(types) or 'nothing'}")
            for word, types in vocabulary.extra_channels
            if not types or any(t not in CHANNEL_TYPES for t in types)]


def _problem(where: str, message: str) -> Conflict:
    return Conflict(None, where, (), f"{where}: {message}")


def _brand(raw: Any, index: int, problems: list[Conflict]) -> Brand | None:
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
             *VOCABULARY_KEYS}
    for key in sorted(set(raw) - known):
        problems.append(_problem(f"{where}.{key}", "unknown key"))
        ok = False
    if not fold(str(raw["name"])):
        problems.append(_problem(f"{where}.name", "must contain letters or digits"))
        ok = False
    if not ok:
        return None
    return Brand(str(raw["id"]), str(raw["name"]), raw["iys_code"], raw["brand_code"],
                 tuple(str(a) for a in raw.get("aliases", [])), Vocabulary.from_dict(raw),
                 tuple((str(k), str(v)) for k, v in (raw.get("replies") or {}).items()))


def _number(raw: Any, index: int, problems: list[Conflict]) -> Number | None:
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
    for key in sorted(set(raw) - known):
        problems.append(_problem(f"{where}.{key}", "unknown key"))
        return None
    return Number(msisdn.lstrip("+"), shared, raw.get("brand"), tuple(raw.get("brands", [])),
                  Vocabulary.from_dict(raw),
                  tuple((str(k), str(v)) for k, v in (raw.get("replies") or {}).items()))

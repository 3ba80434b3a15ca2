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

from keywords.models import (
    BRAND_ID,
    REPLY_KEYS,
    REPLY_PLACEHOLDERS,
    Brand,
    Conflict,
    Number,
    RulesError,
    msisdn_variants,
)
from keywords.parse import parse_brand, parse_number
from keywords.vocabulary import (
    CHANNEL_TYPES,
    Meaning,
    Vocabulary,
    number_words,
    required_removals,
)

__all__ = ["BRAND_ID", "REPLY_KEYS", "Brand", "Conflict", "Number", "RuleSet", "RulesError",
           "Vocabulary", "msisdn_variants"]


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
                  if (b := parse_brand(raw, i, problems)) is not None]
        numbers = [n for i, raw in enumerate(data.get("number", []) or [])
                   if (n := parse_number(raw, i, problems)) is not None]
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
            if not b.review_auto_ret:
                item["review_auto_ret"] = False
            if b.privacy_notice:
                item["privacy_notice"] = dict(b.privacy_notice)
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
            problems += _vocabulary_problems(f"brand {b.id}", b.vocabulary)
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
            problems += _vocabulary_problems(f"number {n.msisdn}", n.vocabulary)
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


def _removal_problems(where: str, vocabulary: Vocabulary) -> list[Conflict]:
    return [Conflict(None, word, (), f"{where}: opt-out word {word!r} is one of the "
                                     "regulation's (RET, IPTAL, HAYIR, DUR, STOP) and cannot "
                                     "be removed")
            for word in required_removals(vocabulary)]


def _placeholders(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:  # a lone "{" or "}": shown as typed, not a placeholder
        return []


def _vocabulary_problems(where: str, vocabulary: Vocabulary) -> list[Conflict]:
    """Channel words must mean MESAJ/ARAMA; the regulation's opt-out words stay."""
    return _removal_problems(where, vocabulary) + [
        Conflict(None, word, (), f"{where}: channel word {word!r} must mean MESAJ and/or "
                                 f"ARAMA, not {', '.join(types) or 'nothing'}")
        for word, types in vocabulary.extra_channels
        if not types or any(t not in CHANNEL_TYPES for t in types)]

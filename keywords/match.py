"""What a recipient's SMS means: ``match(text, number, rules) -> Decision``.

Grammar: an action word (opt-out or opt-in), brand words (name, alias or İYS brand code,
multi-word too) before or after it, optional channel words (MESAJ/SMS, ARAMA, TUMU/HEPSI)
and TACIR. On a brand's dedicated number the brand is implied. Words of 4+ letters that are
one edit (Damerau) from exactly one known word are read as that word.

This runs for every SMS, so everything that depends only on the rules (the per-number word
tables, the typo index) is built once per number and cached on the frozen ``RuleSet``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from keywords.index import NumberIndex, index_for
from keywords.normalize import fold
from keywords.rules import Brand, Number, RuleSet
from keywords.typos import damerau_one
from keywords.vocabulary import CHANNEL_TYPES

__all__ = ["Decision", "EventSpec", "Outcome", "damerau_one", "match"]

Outcome = Literal["consent", "ambiguous", "unknown_brand", "no_keyword", "not_text",
                  "unknown_number"]


@dataclass(frozen=True)
class EventSpec:
    brand_id: str
    status: Literal["ONAY", "RET"]
    types: tuple[str, ...]
    recipient_type: Literal["BIREYSEL", "TACIR"] = "BIREYSEL"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    events: tuple[EventSpec, ...] = ()
    normalized: str = ""
    reason: str = ""
    number: str | None = None  # the configured msisdn the destination matched

    @classmethod
    def not_text(cls, reason: str) -> Decision:
        """For receipts, binary and undecodable messages: the caller never matches those."""
        return cls("not_text", (), "", reason)


@dataclass
class _Reading:
    """What each word of one message was read as."""

    statuses: list[tuple[str, str, frozenset[str] | None]] = field(default_factory=list)
    channels: list[tuple[tuple[str, ...], str, frozenset[str] | None]] = field(
        default_factory=list)
    brands: list[tuple[Brand, str]] = field(default_factory=list)  # (brand, how it was named)
    foreign: list[Brand] = field(default_factory=list)  # brands this number does not serve
    tacir: bool = False
    unknown: list[str] = field(default_factory=list)
    typos: list[tuple[str, str]] = field(default_factory=list)  # (as typed, read as)


def _read(words: list[str], index: NumberIndex) -> _Reading:
    reading = _Reading()
    fixed = [index.correct(w) for w in words]
    i = 0
    while i < len(words):
        found = index.brand_at(fixed, i)
        if found is not None:
            brand, how, size = found
            reading.brands.append((brand, how))
            reading.typos += [(w, f) for w, f in zip(words[i:i + size], fixed[i:i + size],
                                                      strict=True) if w != f]
            i += size
            continue
        meaning = index.words.get(fixed[i])
        if meaning is not None:
            if fixed[i] != words[i]:
                reading.typos.append((words[i], fixed[i]))
            if meaning.kind == "action":
                reading.statuses.append((meaning.value, fixed[i], meaning.owners))
            elif meaning.kind == "channel":
                reading.channels.append((meaning.value, fixed[i], meaning.owners))
            else:
                reading.tacir = True
            i += 1
            continue
        other = index.foreign_brand_at(words, i)
        if other is not None:
            reading.foreign.append(other[0])
            i += other[1]
            continue
        reading.unknown.append(words[i])
        i += 1
    return reading


def match(text: str, number: str, rules: RuleSet) -> Decision:
    """Decide what ``text`` sent to ``number`` means under ``rules``. Never raises on text."""
    normalized = fold(text)
    found = rules.number_for(number)
    if found is None:
        return Decision("unknown_number", (), normalized,
                        f"Number {number or '(empty)'} is not configured.")
    index = index_for(rules, found)
    reading = _read(normalized.split(), index)
    where = _where(found, index)

    def decided(outcome: Outcome, reason: str, events: tuple[EventSpec, ...] = ()) -> Decision:
        return Decision(outcome, events, normalized, reason, found.msisdn)

    named = list(dict.fromkeys(b for b, _ in reading.brands))
    named_ids = {b.id for b in named}

    def counts(owners: frozenset[str] | None) -> bool:
        # a brand's own extra word on a shared number counts only in messages naming it
        return owners is None or bool(named_ids) and named_ids <= owners

    statuses = [(s, w) for s, w, owners in reading.statuses if counts(owners)]
    if not statuses:
        return decided("no_keyword", f"No opt-out or opt-in word on {where}.")
    if len({s for s, _ in statuses}) > 1:
        both = " and ".join(sorted({w.upper() for _, w in statuses}))
        return decided("ambiguous", f"Both opt-out and opt-in words ({both}) on {where}.")
    status, word = statuses[0]
    if not found.shared and not named and reading.foreign:
        others = ", ".join(dict.fromkeys(b.name for b in reading.foreign))
        return decided("ambiguous", f"{_kind(status)} word {word.upper()} names {others}, "
                                    f"not the brand of {where}.")
    brands = named or ([] if found.shared else list(index.brands))
    if not brands:
        if reading.unknown:
            return decided("unknown_brand",
                           f"{_kind(status)} word {word.upper()} with words that name no brand "
                           f"({' '.join(reading.unknown)!r}) on {where}.")
        return decided("ambiguous", f"{_kind(status)} word {word.upper()} but no brand named "
                                    f"on {where}.")
    typed_types = {t for types, _, owners in reading.channels if counts(owners) for t in types}
    types = tuple(t for t in CHANNEL_TYPES if t in typed_types) or ("MESAJ",)
    recipient_type: Literal["BIREYSEL", "TACIR"] = "TACIR" if reading.tacir else "BIREYSEL"
    events = tuple(EventSpec(b.id, status, types, recipient_type)  # type: ignore[arg-type]
                   for b in brands)
    how = dict(reversed(reading.brands))  # the first way each brand was named
    named_as = [f"{b.name} ({how.get(b, 'implied by the number')})" for b in brands]
    reason = (f"{_kind(status)} word {word.upper()} and brand{'s' if len(brands) > 1 else ''} "
              f"{', '.join(named_as)} on {where}: {status} for {'+'.join(types)}, "
              f"{recipient_type}")
    if reading.typos:
        reason += "; read " + ", ".join(f"{a!r} as {b!r}" for a, b in
                                        dict.fromkeys(reading.typos))
    return decided("consent", reason + ".", events)


def _kind(status: str) -> str:
    return "Opt-out" if status == "RET" else "Opt-in"


def _where(number: Number, index: NumberIndex) -> str:
    if number.shared:
        return f"shared number {number.msisdn}"
    owner = index.brands[0].name if index.brands else number.brand
    return f"number {number.msisdn}, dedicated to {owner}"

"""What a recipient's SMS means: ``match(text, number, rules) -> Decision``.

Grammar: an action word (opt-out or opt-in), brand words (name, alias or İYS brand code,
multi-word too) before or after it, optional channel words (MESAJ/SMS, ARAMA, TUMU/HEPSI)
and TACIR. On a brand's dedicated number the brand is implied. Words of 4+ letters that are
one edit (Damerau) from exactly one known word are read as that word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from keywords.normalize import fold
from keywords.rules import Brand, Number, RuleSet

Outcome = Literal["consent", "ambiguous", "unknown_brand", "no_keyword", "not_text",
                  "unknown_number"]
TYPO_MIN_LENGTH = 4


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
    number: str | None = None

    @classmethod
    def not_text(cls, reason: str) -> Decision:
        return cls("not_text", (), "", reason)


@dataclass
class _Reading:
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (status, word as typed)
    brands: list[tuple[Brand, str]] = field(default_factory=list)  # (brand, phrase)
    types: list[str] = field(default_factory=list)
    tacir: bool = False
    unknown: list[str] = field(default_factory=list)
    typos: list[tuple[str, str]] = field(default_factory=list)


def damerau_one(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one insertion, deletion, substitution or
    transposition of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    for i in range(len(long_)):
        if long_[:i] + long_[i + 1:] == short:
            return True
    return False


@dataclass(frozen=True)
class _NumberIndex:
    number: Number
    brands: tuple[Brand, ...]
    vocabulary: dict[str, tuple[str, Any]]
    phrases: dict[tuple[str, ...], Brand]
    longest: int
    single_words: dict[str, tuple[str, Any]]  # candidates for typo tolerance


def _index(rules: RuleSet, number: Number) -> _NumberIndex:
    cached = rules.match_cache.get(number.msisdn)
    if cached is None:
        cached = rules.match_cache[number.msisdn] = _build_index(rules, number)
    return cached


def _build_index(rules: RuleSet, number: Number) -> _NumberIndex:
    brands = rules.brands_on(number)
    vocabulary = rules.vocabulary_on(number)
    phrases = {tuple(p.split()): b for b in brands for p in b.phrases}
    single = {w: v for w, v in vocabulary.items() if v[0] != "conflict"}
    for words, brand in phrases.items():
        if len(words) == 1 and not words[0].isdigit():
            single[words[0]] = ("brand", brand)
    return _NumberIndex(number, brands, vocabulary, phrases,
                        max((len(p) for p in phrases), default=1), single)


def _typo(word: str, index: _NumberIndex) -> tuple[str, tuple[str, Any]] | None:
    if len(word) < TYPO_MIN_LENGTH or word.isdigit():
        return None
    close = [(w, v) for w, v in index.single_words.items()
             if len(w) >= TYPO_MIN_LENGTH and damerau_one(word, w)]
    return close[0] if len(close) == 1 else None


def _read(words: list[str], index: _NumberIndex) -> _Reading:
    reading = _Reading()
    i = 0
    while i < len(words):
        for size in range(min(index.longest, len(words) - i), 0, -1):
            brand = index.phrases.get(tuple(words[i:i + size]))
            if brand is not None:
                reading.brands.append((brand, " ".join(words[i:i + size])))
                i += size
                break
        else:
            word = words[i]
            meaning = index.vocabulary.get(word)
            if meaning is None and (guess := _typo(word, index)) is not None:
                reading.typos.append((word, guess[0]))
                meaning = guess[1]
            _apply(reading, word, meaning)
            i += 1
    return reading


def _apply(reading: _Reading, word: str, meaning: tuple[str, Any] | None) -> None:
    if meaning is None:
        reading.unknown.append(word)
        return
    kind, value = meaning
    if kind == "action":
        reading.statuses.append((value, word))
    elif kind == "channel":
        reading.types.extend(value)
    elif kind == "tacir":
        reading.tacir = True
    elif kind == "brand":
        reading.brands.append((value, word))


def match(text: str, number: str, rules: RuleSet) -> Decision:
    normalized = fold(text)
    found = rules.number_for(number)
    if found is None:
        return Decision("unknown_number", (), normalized,
                        f"Number {number or '(empty)'} is not configured.")
    index = _index(rules, found)
    reading = _read(normalized.split(), index)
    where = (f"shared number {found.msisdn}" if found.shared
             else f"{found.msisdn}, the dedicated number of {found.brand}")
    statuses = {s for s, _ in reading.statuses}
    if not statuses:
        return Decision("no_keyword", (), normalized, f"No opt-out or opt-in word on {where}.",
                        found.msisdn)
    if len(statuses) > 1:
        words = " and ".join(sorted({w.upper() for _, w in reading.statuses}))
        return Decision("ambiguous", (), normalized,
                        f"Both opt-out and opt-in words ({words}) on {where}.", found.msisdn)
    brands = list(dict.fromkeys(b for b, _ in reading.brands))
    if not brands and not found.shared:
        brands = list(index.brands)
    if not brands:
        if reading.unknown:
            return Decision("unknown_brand", (), normalized,
                            f"The words {' '.join(reading.unknown)!r} name no brand on {where}.",
                            found.msisdn)
        return Decision("ambiguous", (), normalized, f"No brand named on {where}.", found.msisdn)
    status = statuses.pop()
    types = tuple(t for t in ("MESAJ", "ARAMA") if t in reading.types) or ("MESAJ",)
    recipient_type = "TACIR" if reading.tacir else "BIREYSEL"
    events = tuple(EventSpec(b.id, status, types, recipient_type) for b in brands)  # type: ignore[arg-type]
    return Decision("consent", events, normalized,
                    _reason(status, reading, brands, types, recipient_type, where), found.msisdn)


def _reason(status: str, reading: _Reading, brands: list[Brand], types: tuple[str, ...],
            recipient_type: str, where: str) -> str:
    word = reading.statuses[0][1].upper()
    kind = "Opt-out" if status == "RET" else "Opt-in"
    named = {b.id: phrase for b, phrase in reading.brands}
    parts = []
    for brand in brands:
        phrase = named.get(brand.id)
        parts.append(f"{brand.name} ({'implied' if phrase is None else repr(phrase.upper())})")
    text = (f"{kind} word {word} and brand {', '.join(parts)} on {where}: {status} for "
            f"{'/'.join(types)}, {recipient_type}")
    if reading.typos:
        text += "; read " + ", ".join(f"{a!r} as {b!r}" for a, b in reading.typos)
    return text + "."

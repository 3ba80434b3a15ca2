"""What each word of one message is: brand, action, channel, courtesy, or outside the grammar.

A message is read as typed first. Only when that leaves words outside the grammar are typos
tried: each such word that is one edit from exactly one known word, and is neither an
ordinary Turkish word (``keywords.ordinary``) nor a negative form, is read as that word;
the corrected reading is kept only when it is wholly grammatical. So ``IPTLA ACME`` is
``IPTAL ACME``, but ``Bilgi için teşekkürler`` keeps its ``için``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from keywords import grammar, ordinary
from keywords.index import NumberIndex
from keywords.normalize import fold
from keywords.rules import Brand


@dataclass(frozen=True)
class Status:
    value: str                      # "RET" or "ONAY"
    word: str                       # the folded word as read (after a typo correction)
    owners: frozenset[str] | None   # None: counts in every message
    position: int                   # index of the word in the message


@dataclass
class Reading:
    statuses: list[Status] = field(default_factory=list)
    channels: list[tuple[tuple[str, ...], frozenset[str] | None]] = field(default_factory=list)
    brands: list[tuple[Brand, str]] = field(default_factory=list)  # (brand, how it was named)
    foreign: list[Brand] = field(default_factory=list)  # brands this number does not serve
    tacir: bool = False
    verbs: list[tuple[int, str]] = field(default_factory=list)     # "veriyorum" and the like
    unknown: list[tuple[int, str]] = field(default_factory=list)   # (position, word)
    typos: list[tuple[str, str]] = field(default_factory=list)     # (as typed, read as)

    @property
    def unknown_words(self) -> list[str]:
        return [w for _, w in self.unknown]


def read(text: str, words: list[str], index: NumberIndex) -> Reading:
    """The message's reading: as typed, or corrected when that makes it wholly grammatical."""
    reading = _read(words, index)
    if not reading.unknown:
        return reading
    fixed = _corrected(text, words, reading, index)
    if fixed is None:
        return reading
    again = _read(fixed, index)
    if again.unknown:
        return reading
    again.typos = [(a, b) for a, b in zip(words, fixed, strict=True) if a != b]
    return again


def _read(words: list[str], index: NumberIndex) -> Reading:
    reading = Reading()
    i = 0
    after_brand = False
    while i < len(words):
        word = words[i]
        found = index.brand_at(words, i)
        if found is not None:
            brand, how, size = found
            reading.brands.append((brand, how))
            i += size
            after_brand = True
            continue
        if after_brand and word in grammar.DATIVE_SUFFIXES:  # Acme'ye → "acme ye"
            i += 1
            after_brand = False
            continue
        after_brand = False
        meaning = index.words.get(word)
        if meaning is not None:
            if meaning.kind == "action":
                reading.statuses.append(Status(meaning.value, word, meaning.owners, i))
            elif meaning.kind == "channel":
                reading.channels.append((meaning.value, meaning.owners))
            else:
                reading.tacir = True
        elif word in grammar.COURTESY:
            pass
        elif word in grammar.OPT_IN_VERBS:
            reading.verbs.append((i, word))
        elif (other := index.foreign_brand_at(words, i)) is not None:
            reading.foreign.append(other[0])
            i += other[1]
            continue
        else:
            reading.unknown.append((i, word))
        i += 1
    if not any(s.value == "ONAY" for s in reading.statuses):
        # "veriyorum" belongs to "izin veriyorum"; without an opt-in word it is just a word
        reading.unknown = sorted(reading.unknown + reading.verbs)
    return reading


def _corrected(text: str, words: list[str], reading: Reading,
               index: NumberIndex) -> list[str] | None:
    """The words with each correctable unknown word corrected; None when none is."""
    fixes: dict[int, str] = {}
    typed: dict[str, list[str]] | None = None
    for position, word in reading.unknown:
        known = index.correct(word)
        if known == word or grammar.negation(word) is not None:
            continue
        if typed is None:
            typed = _as_typed(text)
        if ordinary.is_ordinary(word, *typed.get(word, ())):
            continue  # "için" is a word, not a typo of "izin"
        fixes[position] = known
    if not fixes:
        return None
    return [fixes.get(i, w) for i, w in enumerate(words)]


_WORD_SPLIT = re.compile(r"[\W_]+")


def _as_typed(text: str) -> dict[str, list[str]]:
    """Folded word → the words as typed (with their Turkish letters) that fold to it."""
    out: dict[str, list[str]] = {}
    for token in _WORD_SPLIT.split(unicodedata.normalize("NFKC", text)):
        if token:
            for folded in fold(token).split():
                out.setdefault(folded, []).append(token)
    return out


def counted(reading: Reading, named_ids: set[str]) -> tuple[list[Status], list[tuple[int, str]]]:
    """The statuses that count in this message, and the unknown words plus the ones that
    do not (another brand's own extra word on a shared number is just a word here)."""
    def counts(owners: Any) -> bool:
        return owners is None or bool(named_ids) and named_ids <= owners

    statuses = [s for s in reading.statuses if counts(s.owners)]
    others = [(s.position, s.word) for s in reading.statuses if not counts(s.owners)]
    return statuses, sorted(reading.unknown + others)

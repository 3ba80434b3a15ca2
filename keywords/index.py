"""Per-number lookup tables, built once per (rules, number) and cached on the RuleSet."""

from __future__ import annotations

from keywords import grammar, ordinary
from keywords.normalize import fold
from keywords.rules import Brand, Number, RuleSet
from keywords.typos import TypoIndex
from keywords.vocabulary import Meaning

Phrases = dict[tuple[str, ...], tuple[Brand, str]]  # folded words → (brand, how it names it)


class NumberIndex:
    """Everything ``match`` needs about one number: its brands' phrases, its words, typos."""

    def __init__(self, rules: RuleSet, number: Number) -> None:
        self.number = number
        self.brands = rules.brands_on(number)
        self.words: dict[str, Meaning] = rules.vocabulary_on(number)
        self.phrases = _phrases(self.brands)
        self.longest = max((len(p) for p in self.phrases), default=1)
        # On a dedicated number, another brand's name is worth noticing: "IZIN KUZEY" sent to
        # ACME's own number must not become a consent for ACME.
        served = {b.id for b in self.brands}
        foreign = _phrases(tuple(b for b in rules.brands if b.id not in served))
        self.foreign = {} if number.shared else {
            p: v for p, v in foreign.items()
            if p not in self.phrases and not (len(p) == 1 and p[0] in self.words)}
        self.foreign_longest = max((len(p) for p in self.foreign), default=1)
        known = (set(self.words) | {w for p in self.phrases for w in p} | grammar.COURTESY
                 | grammar.OPT_IN_VERBS)
        self._known = frozenset(known)
        self._typos = TypoIndex(known)
        ordinary.warm()

    def correct(self, word: str) -> str:
        """The known word ``word`` stands for (itself when known or not close to one)."""
        if word in self._known:
            return word
        return self._typos.lookup(word) or word

    def brand_at(self, words: list[str], i: int) -> tuple[Brand, str, int] | None:
        """The longest brand phrase starting at ``words[i]``: (brand, how, word count)."""
        return _longest(self.phrases, self.longest, words, i)

    def foreign_brand_at(self, words: list[str], i: int) -> tuple[Brand, int] | None:
        found = _longest(self.foreign, self.foreign_longest, words, i)
        return None if found is None else (found[0], found[2])


def _longest(phrases: Phrases, longest: int, words: list[str],
             i: int) -> tuple[Brand, str, int] | None:
    for size in range(min(longest, len(words) - i), 0, -1):
        found = phrases.get(tuple(words[i:i + size]))
        if found is not None:
            return found[0], found[1], size
    return None


def _phrases(brands: tuple[Brand, ...]) -> Phrases:
    phrases: Phrases = {}
    for brand in brands:
        named = [(brand.name, "name"), *((a, f"alias {a!r}") for a in brand.aliases),
                 (str(brand.brand_code), f"brand code {brand.brand_code}")]
        for text, how in named:
            words = tuple(fold(text).split())
            if words:
                phrases.setdefault(words, (brand, how))  # the name wins over an equal alias
    return phrases


def index_for(rules: RuleSet, number: Number) -> NumberIndex:
    cached = rules.match_cache.get(number.msisdn)
    if cached is None:
        cached = rules.match_cache[number.msisdn] = NumberIndex(rules, number)
    return cached

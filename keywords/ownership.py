"""Owners cannot take each other's words on a shared number (issue #24, item 4).

Matching reads a typo of a brand word as that brand, and the longest brand phrase wins. So
an owner who registers ``KUZEYY`` or ``KUZEY KAHVESI`` next to another owner's ``KUZEY
KAHVE`` (alias ``KUZEY``) would receive that brand's opt-outs. A new or changed name or
alias is therefore refused when, on a shared number it shares with another owner's brand,
it is:

- within one typo (Damerau) of one of that brand's words, both having 4+ letters and no
  digits, compared as written and without spaces (``KUZEYKAHVE`` = ``KUZEY KAHVE``);
- an extension of one, or extended by one: word-wise (``KUZEY MARKET`` over ``KUZEY``) or
  without spaces (``KUZEYKAHVESI`` over ``KUZEYKAHVE``, for 4+ letters).

İYS brand codes are numbers that differ by a digit by design: they are compared exactly
(by ``RuleSet.validate``), never here. An owner's own brands may be close to each other;
brands without an owner (the operator's) count as one more owner. Only the brands a change
adds or alters are checked, so data that predates the rule does not block other edits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from keywords.models import Brand, Conflict
from keywords.normalize import fold
from keywords.rules import RuleSet
from keywords.typos import TYPO_MIN_LENGTH, damerau_one

CLOSE = "close"  # marks a conflict of near words, as opposed to the same word twice


def owner_conflicts(rules: RuleSet, owners: Mapping[str, object],
                    changed: Iterable[str]) -> list[Conflict]:
    """Conflicts of the ``changed`` brands' words with other owners' brands' words.

    ``owners`` maps brand id to its owner (None or missing: the operator). Each conflict's
    meanings are ``("brand:<changed>", "brand:<other>", "close")``.
    """
    changed = set(changed)
    problems: list[Conflict] = []
    seen: set[tuple[str, str, str]] = set()
    for number in rules.numbers:
        if not number.shared:
            continue
        brands = rules.brands_on(number)
        for brand in (b for b in brands if b.id in changed):
            for other in brands:
                if other.id == brand.id or owners.get(other.id) == owners.get(brand.id):
                    continue
                for mine in _words(brand):
                    theirs = next((t for t in _words(other) if too_close(mine, t)), None)
                    if theirs is None or (number.msisdn, brand.id, mine) in seen:
                        continue
                    seen.add((number.msisdn, brand.id, mine))
                    problems.append(Conflict(
                        number.msisdn, mine, (f"brand:{brand.id}", f"brand:{other.id}", CLOSE),
                        f"on {number.msisdn}, {mine!r} of {brand.id} is too close to "
                        f"{theirs!r} of {other.id} (one typo from it, or extending it)"))
    return problems


def _words(brand: Brand) -> list[str]:
    """The brand's name and aliases, folded (its numeric code is compared exactly)."""
    found = [fold(brand.name), *(fold(a) for a in brand.aliases)]
    return list(dict.fromkeys(w for w in found if w))


def too_close(a: str, b: str) -> bool:
    """Whether folded brand phrases ``a`` and ``b`` would be read as one another."""
    if a == b:
        return False  # the same word twice is RuleSet.validate's exact conflict
    if a.isdigit() or b.isdigit():
        return False
    words_a, words_b = a.split(), b.split()
    if _extends(words_a, words_b) or _extends(words_b, words_a):
        return True
    compact_a, compact_b = a.replace(" ", ""), b.replace(" ", "")
    if compact_a == compact_b:
        return True
    if _typo_comparable(compact_a) and _typo_comparable(compact_b):
        if damerau_one(compact_a, compact_b) or damerau_one(a, b):
            return True
        shorter, longer = sorted((compact_a, compact_b), key=len)
        return longer.startswith(shorter) or longer.endswith(shorter)
    return False


def _extends(longer: list[str], shorter: list[str]) -> bool:
    """``longer`` is ``shorter`` with words added before or after it."""
    n = len(shorter)
    return len(longer) > n and (longer[:n] == shorter or longer[-n:] == shorter)


def _typo_comparable(word: str) -> bool:
    return len(word) >= TYPO_MIN_LENGTH and not any(ch.isdigit() for ch in word)

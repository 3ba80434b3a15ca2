"""One-edit typo tolerance: ``iptl`` → ``iptal``, ``acem`` → ``acme``, only when unique.

A word is read as a known word when it is one Damerau edit (insertion, deletion,
substitution, or swap of neighbours) away from exactly one known word, both having
:data:`TYPO_MIN_LENGTH` or more letters. Short words are never corrected: ``RED`` is not
``RET`` and ``ONA`` is not ``ONAY``. Words with digits are never corrected either: brand
code 700002 is a different brand from 700001, not a typo of it.

Candidates are found through a deletion index (every known word and each of its one-letter
deletions): two words one edit apart always share an entry, so a lookup costs a handful of
dictionary probes instead of a scan of every known word.
"""

from __future__ import annotations

from collections.abc import Iterable

TYPO_MIN_LENGTH = 4
_CACHE_LIMIT = 4096  # distinct unknown words remembered per number (chatter repeats)


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


def _keys(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1:] for i in range(len(word))}


def correctable(word: str) -> bool:
    return len(word) >= TYPO_MIN_LENGTH and not any(ch.isdigit() for ch in word)


class TypoIndex:
    """Known words reachable by one edit; ``lookup`` answers the unique one or None."""

    def __init__(self, known: Iterable[str]) -> None:
        self._by_key: dict[str, set[str]] = {}
        for word in known:
            if correctable(word):
                for key in _keys(word):
                    self._by_key.setdefault(key, set()).add(word)
        self._cache: dict[str, str | None] = {}

    def lookup(self, word: str) -> str | None:
        if not correctable(word):
            return None
        if word in self._cache:
            return self._cache[word]
        found: set[str] = set()
        for key in _keys(word):
            found |= self._by_key.get(key, set())
        close = [w for w in found if damerau_one(word, w)]
        answer = close[0] if len(close) == 1 else None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()  # crude but bounded; the next words refill it
        self._cache[word] = answer
        return answer

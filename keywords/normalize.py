"""Turkish-aware text folding: what recipients type, reduced to comparable words.

``İZİN``, ``izin``, ``IZIN`` and ``ızın`` all fold to ``izin``; ``ÇIK`` to ``cik``;
punctuation, emoji and symbols separate words (``RET-ACME`` is two words).
"""

from __future__ import annotations

import re
import unicodedata

# Turkish letters and their plain counterparts. Both dotted and dotless i, in either case,
# become "i": recipients type whichever their keyboard gives them. Mapping "İ" before
# casefolding also avoids Python's "İ".lower() == "i̇" (i + combining dot above).
_TURKISH = str.maketrans({
    "İ": "i", "I": "i", "ı": "i", "i": "i",
    "Ş": "s", "ş": "s", "Ğ": "g", "ğ": "g", "Ü": "u", "ü": "u",
    "Ö": "o", "ö": "o", "Ç": "c", "ç": "c", "Â": "a", "â": "a",
    "Î": "i", "î": "i", "Û": "u", "û": "u",
})

# Most messages are plain ASCII ("RET ACME"): lower-case them and turn every character that
# is not a letter or digit into a space, without the Unicode machinery below.
_ASCII_SEPARATORS = str.maketrans(
    {chr(c): " " for c in range(128) if not chr(c).isalnum()}
)
# Outside ASCII, a word character is a letter or a number (str.isalnum); "_" is a separator.
_NON_WORD = re.compile(r"[\W_]+")


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


def fold(text: str) -> str:
    """NFKC, Turkish folding, casefold, non-word characters to spaces, spaces collapsed.

    Idempotent: ``fold(fold(t)) == fold(t)`` for every string.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_TURKISH)
    if text.isascii():  # most Turkish text is ASCII once its letters are folded
        return " ".join(text.lower().translate(_ASCII_SEPARATORS).split())
    text = text.casefold()
    # Decompose and drop the marks (accents, the dot of "i̇"), so "é" matches "e" too.
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not _is_mark(ch))
    # A compatibility decomposition can surface a dotless i again (mathematical letters).
    text = text.translate(_TURKISH)
    return " ".join(_NON_WORD.sub(" ", text).split())


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return fold(text).split()

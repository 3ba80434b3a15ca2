"""Turkish-aware text folding: what recipients type, reduced to comparable words.

``İZİN``, ``izin``, ``IZIN`` and ``ızın`` all fold to ``izin``; ``ÇIK`` to ``cik``;
punctuation, emoji and symbols separate words (``RET-ACME`` is two words).
"""

from __future__ import annotations

import unicodedata

# Turkish letters and their plain counterparts. Both dotted and dotless i, in either case,
# become "i": recipients type whichever their keyboard gives them.
_TURKISH = str.maketrans({
    "İ": "i", "I": "i", "ı": "i", "i": "i",
    "Ş": "s", "ş": "s", "Ğ": "g", "ğ": "g", "Ü": "u", "ü": "u",
    "Ö": "o", "ö": "o", "Ç": "c", "ç": "c", "Â": "a", "â": "a",
    "Î": "i", "î": "i", "Û": "u", "û": "u",
})


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("L", "N")


def fold(text: str) -> str:
    """NFKC, Turkish folding, casefold, non-word characters to spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_TURKISH).casefold()
    # strip remaining combining marks (e.g. the dot of "i̇" that "İ".lower() leaves behind)
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = "".join(ch if _is_word_char(ch) else " " for ch in text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return fold(text).split()

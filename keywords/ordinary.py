"""Which words are ordinary Turkish words, from ``wordfreq``'s Turkish frequencies.

Typo tolerance must never turn a real word into a keyword: ``için`` is not a typo of
``izin``, nor ``stok`` of ``stop``. A word whose Zipf frequency (log10 of occurrences per
billion words) reaches :data:`ORDINARY_ZIPF` is a word people write on purpose, so it is
never corrected. :data:`CHATTER_ZIPF` marks very common words (``bir``, ``saat``, ``ne``):
an action word among those is conversation, not an attempt to name a brand.

wordfreq ships its word lists inside the wheel (``wordfreq/data/small_tr.msgpack.gz``) and
reads them from there: nothing is fetched at run time. Lookups are cached: the matcher runs
for every SMS.
"""

from __future__ import annotations

from functools import lru_cache

from wordfreq import zipf_frequency

ORDINARY_ZIPF = 3.0   # about once per million words: "stok" 3.6, "için" 6.9, "iptl" 0
CHATTER_ZIPF = 5.0    # "bir" 7.3, "saat" 5.8, "dakika" 5.5; brand-like "turkcell" 4.1


@lru_cache(maxsize=8192)
def zipf(word: str) -> float:
    """Turkish Zipf frequency of ``word`` as typed or folded (0.0 for unknown words)."""
    return zipf_frequency(word, "tr")


def is_ordinary(*spellings: str) -> bool:
    """True when any spelling of one word (folded, as typed) is an ordinary Turkish word."""
    return any(zipf(s) >= ORDINARY_ZIPF for s in spellings if s)


def is_chatter(word: str) -> bool:
    return zipf(word) >= CHATTER_ZIPF


def warm() -> None:
    """Load the Turkish list now (about 0.2 s once), not inside the first SMS's decision."""
    zipf("izin")

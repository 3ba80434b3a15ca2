"""One-edit typo tolerance: which words are read as which."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from keywords.typos import TypoIndex, correctable, damerau_one

KNOWN = ["iptal", "izin", "onay", "kabul", "reddet", "hayir", "acme", "acmemarket", "kuzey",
         "kahve", "mesaj", "arama", "tumu", "hepsi", "tacir", "ret", "dur", "sms"]


@pytest.mark.parametrize(("a", "b", "close"), [
    ("iptl", "iptal", True),      # deletion
    ("iptaal", "iptal", True),    # insertion
    ("iptak", "iptal", True),     # substitution
    ("itpal", "iptal", True),     # neighbours swapped
    ("iptal", "iptal", False),    # the same word is not an edit
    ("ipt", "iptal", False),      # two deletions
    ("tipal", "iptal", False),    # a swap and a shift: two edits
])
def test_damerau_one_counts_exactly_one_edit(a: str, b: str, close: bool) -> None:
    assert damerau_one(a, b) is close
    assert damerau_one(b, a) is close


@pytest.mark.parametrize(("typed", "read"), [
    ("iptl", "iptal"), ("izn", None), ("izinn", "izin"), ("onya", "onay"), ("kabl", "kabul"),
    ("acem", "acme"), ("rett", None), ("re", None), ("red", None),  # short words never
    ("700002", None), ("kahv3", None),                               # digits never
    ("ayir", "hayir"),  # four letters typed is enough
])
def test_lookup_reads_a_word_only_when_one_known_word_is_one_edit_away(
        typed: str, read: str | None) -> None:
    assert TypoIndex(KNOWN).lookup(typed) == read


def test_two_known_words_equally_close_mean_no_correction() -> None:
    index = TypoIndex(["kara", "kora"])
    assert index.lookup("kvra") is None
    assert index.lookup("karaa") == "kara"


def brute_force(word: str, known: list[str]) -> str | None:
    if not correctable(word):
        return None
    close = {w for w in known if correctable(w) and damerau_one(word, w)}
    return close.pop() if len(close) == 1 else None


@given(st.lists(st.text("abcde", min_size=1, max_size=7), max_size=12),
       st.text("abcde", min_size=1, max_size=8))
def test_the_deletion_index_finds_exactly_what_a_full_scan_finds(known: list[str],
                                                                 typed: str) -> None:
    assume(typed not in known)  # known words are never looked up as typos
    assert TypoIndex(known).lookup(typed) == brute_force(typed, known)

"""Properties that hold for any text (hypothesis)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from keywords import RuleSet, fold, match

RULES = RuleSet.from_toml((Path(__file__).parent / "rules.toml").read_text(encoding="utf-8"))
NUMBERS = st.sampled_from(["4609", "3340", "908505320000", "908504440000", "9999", ""])
WORDS = st.sampled_from(["RET", "İZİN", "ızın", "ACME", "KUZEY", "KAHVE", "ARAMA", "TUMU",
                         "TACIR", "700001", "ŞEKERCİ", "ALİ", "merhaba", "IPTLA", "x"])
PUNCTUATION = st.sampled_from(["", ".", "!", ",", "-", "/", "...", " ", "😀", "(", ")", "\"",
                               "?!", "—", "\n"])


@given(st.text())
def test_folding_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(), NUMBERS)
@settings(max_examples=300)
def test_matching_never_raises_on_any_unicode(text: str, number: str) -> None:
    decision = match(text, number, RULES)
    assert decision.outcome in {"consent", "needs_review", "ambiguous", "unknown_brand",
                                "no_keyword", "unknown_number"}
    assert bool(decision.events) == (decision.outcome in {"consent", "needs_review"})
    if decision.outcome == "needs_review":  # what a confirmation would create: only RETs
        assert {e.status for e in decision.events} == {"RET"}


@given(st.lists(WORDS, min_size=1, max_size=6), st.lists(PUNCTUATION, min_size=7,
                                                          max_size=7), NUMBERS)
@settings(max_examples=300)
def test_punctuation_around_words_never_changes_the_outcome(words: list[str],
                                                            marks: list[str],
                                                            number: str) -> None:
    plain = " ".join(words)
    decorated = marks[0] + "".join(f" {w}{m} " for w, m in zip(words, marks[1:], strict=False))
    a, b = match(plain, number, RULES), match(decorated, number, RULES)
    assert (a.outcome, a.events) == (b.outcome, b.events)


@given(st.lists(WORDS, min_size=1, max_size=5), NUMBERS)
def test_case_never_changes_the_outcome(words: list[str], number: str) -> None:
    text = " ".join(words)
    assert match(text.upper(), number, RULES).events == match(text.lower(), number,
                                                              RULES).events

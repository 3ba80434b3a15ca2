"""Keyword matching against a corpus of realistic messages (tests/keywords/corpus.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keywords import RuleSet, match

HERE = Path(__file__).resolve().parent
RULES = RuleSet.from_toml((HERE / "rules.toml").read_text(encoding="utf-8"))


def load_corpus() -> list[tuple[str, str, str]]:
    rows = []
    for line in (HERE / "corpus.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, number, expected = (part.strip(" ") for part in line.split("|"))
        # escapes written in the file for characters a text file cannot show plainly
        text = text.replace("\\t", "\t").replace("\\r", "\r").replace("\\n", "\n")
        rows.append((text, number, expected.strip()))
    return rows


CORPUS = load_corpus()


def describe(text: str, number: str) -> str:
    decision = match(text, number, RULES)
    if decision.outcome != "consent":
        return decision.outcome
    parts = []
    for event in decision.events:
        spec = f"{event.brand_id}={event.status}"
        if event.types != ("MESAJ",) or event.recipient_type == "TACIR":
            spec += "/" + "+".join(event.types)
        if event.recipient_type == "TACIR":
            spec += "/TACIR"
        parts.append(spec)
    return "consent:" + ",".join(parts)


def test_the_corpus_has_at_least_two_hundred_messages() -> None:
    assert len(CORPUS) >= 200


@pytest.mark.parametrize(("text", "number", "expected"), CORPUS,
                         ids=[f"{i:03d}" for i in range(len(CORPUS))])
def test_corpus_message(text: str, number: str, expected: str) -> None:
    got = describe(text, number)
    wanted = expected
    if wanted.endswith("/MESAJ") and "," not in wanted:  # "RET/MESAJ" is the default: same
        wanted = wanted.removesuffix("/MESAJ")
    assert got == wanted, f"{text!r} on {number}: {match(text, number, RULES).reason}"

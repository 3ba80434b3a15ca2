"""The page's one message catalogue: every word the page shows, in Turkish and English.

* ``t(key, lang)`` gives a word or sentence by key (``WORDS``: key -> (Turkish, English)).
  Codes that the API keeps in English (outcomes, states, reply kinds, review decisions,
  sources) have keys of their own: ``t("outcome.no_keyword", "tr")``, ``t("state.failed",
  "tr")``; :func:`code` is the short form (``code("state", "failed", lang)``).
* ``say(text, lang)`` turns an English sentence the API or the matcher wrote (a problem
  detail, a field error, an explain reason) into the page's language: each API message has a
  template here (``catalogue_api.TEMPLATES``) with ``{name}`` holes; the holes' values are
  themselves looked up (``shared number 4609`` -> ``4609 ortak numarası``). The API keeps
  its English problem details; only the page translates them.
* Other page sections add their own words with :func:`add` (one call at import time, keys
  prefixed with the section's name: ``add({"mirror.title": ("Ayna", "Mirror")})``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from inbound.web.catalogue_api import FRAGMENTS, TEMPLATES
from inbound.web.catalogue_words import WORDS

LANGS = ("tr", "en")

__all__ = ["LANGS", "WORDS", "add", "code", "say", "field_word", "section", "t"]


def add(words: dict[str, tuple[str, str]]) -> None:
    """Words of another page section; a key already here keeps its first meaning."""
    for key, pair in words.items():
        WORDS.setdefault(key, pair)


def section(prefix: str, words: dict[str, tuple[str, str]]) -> Callable[[str, str], str]:
    """Fold a page section's own words in under ``prefix.`` and give the section its lookup
    ``word(lang, key)``: the section's word, else the catalogue's ``key``, else the key.
    (A pair with an empty side, such as an SMS text that exists in Turkish only, is kept
    by its section and not folded in.)"""
    add({f"{prefix}.{k}": pair for k, pair in words.items() if pair[0] and pair[1]})

    def word(lang: str, key: str) -> str:
        full = f"{prefix}.{key}"
        return t(full if full in WORDS else key, lang)
    return word


def t(key: str, lang: str) -> str:
    """The word for ``key`` in ``lang`` (the key itself when the catalogue has none)."""
    pair = WORDS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def field_word(field: str, lang: str) -> str:
    """An API field's name as the page says it (``events[2]`` as the word for ``events``)."""
    key = "field." + field.split("[")[0]
    return t(key, lang) + field[len(field.split("[")[0]):] if key in WORDS else field


def code(kind: str, value: str | None, lang: str) -> str:
    """An API code (``state``/``failed``) as a word; an unknown code shows as it is."""
    if not value:
        return ""
    return t(f"{kind}.{value}", lang) if f"{kind}.{value}" in WORDS else value


def _hole(found: re.Match[str]) -> str:
    # a hole never spans "; ": an explain reason's notes are sentences of their own
    return f"(?P<{found.group(1)}>(?:(?!; ).)+?)"


@lru_cache(maxsize=1)
def _compiled() -> tuple[list[tuple[re.Pattern[str], str]], list[tuple[re.Pattern[str], str]]]:
    def compile_all(pairs: list[tuple[str, str]]) -> list[tuple[re.Pattern[str], str]]:
        out = []
        for english, turkish in pairs:
            pattern = re.escape(english)
            pattern = re.sub(r"\\\{(\w+)\\\}", _hole, pattern)
            out.append((re.compile(pattern + r"\Z", re.S), turkish))
        return out
    return compile_all(TEMPLATES), compile_all(FRAGMENTS)


def _fill(template: str, match: re.Match[str], lang: str) -> str:
    values = {k: _fragment(v, lang) for k, v in match.groupdict().items()}
    return template.format(**values)


def _fragment(value: str, lang: str) -> str:
    """A hole's value: a known fragment (a number's description, a brand list) or as is."""
    for pattern, turkish in _compiled()[1]:
        found = pattern.match(value)
        if found:
            return _fill(turkish, found, lang)
    return value


def _sentence(text: str, lang: str) -> str | None:
    for pattern, turkish in _compiled()[0]:
        found = pattern.match(text)
        if found:
            return _fill(turkish, found, lang)
    return None


def say(text: str | None, lang: str) -> str:
    """An English message of the API in the page's language.

    Tried whole first, then ``field: reason`` (a 422's detail), then sentence by sentence
    on ``; `` (an explain reason with its notes). A message with no template stays English
    (a test renders every state and lists those)."""
    if not text or lang == "en":
        return text or ""
    end = "." if text.endswith(".") else ""
    body = text[:-1] if end else text
    whole = _sentence(body, lang)
    if whole is not None:
        return whole + end
    field, sep, reason = body.partition(": ")
    if sep and re.fullmatch(r"[\w.\[\]]+", field):
        inner = _sentence(reason, lang)
        if inner is not None:
            return f"{t('field.' + field, lang) if 'field.' + field in WORDS else field}: " \
                   f"{inner}{end}"
    parts = body.split("; ")
    if len(parts) > 1:
        said = [_sentence(p, lang) for p in parts]
        if all(s is not None for s in said):
            return "; ".join(s for s in said if s is not None) + end
    return text

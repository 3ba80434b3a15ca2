"""The words that act: opt-out, opt-in, channel and TACIR words, with their overrides.

Defaults follow the recipient law's usual keywords. A number may add or remove words for
everyone on it; a brand may add or remove words too. On a brand's dedicated number its
overrides apply like the number's. On a shared number a brand's *extra* words count only in
messages that name that brand, and its *removals* do not apply: one brand cannot take ``DUR``
away from the other brands that share the number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from keywords.normalize import fold

DEFAULT_OPT_OUT = ("RET", "IPTAL", "HAYIR", "DUR", "STOP", "CIK", "REDDET")
# the regulation's opt-out words: no number or brand may remove them (issue #24)
REQUIRED_OPT_OUT = ("RET", "IPTAL", "HAYIR", "DUR", "STOP")
DEFAULT_OPT_IN = ("IZIN", "ONAY", "EVET", "KABUL", "START")
DEFAULT_CHANNELS = {"MESAJ": ("MESAJ",), "SMS": ("MESAJ",), "ARAMA": ("ARAMA",),
                    "TUMU": ("MESAJ", "ARAMA"), "HEPSI": ("MESAJ", "ARAMA")}
CHANNEL_TYPES = ("MESAJ", "ARAMA")
TACIR_WORD = "tacir"
VOCABULARY_KEYS = ("extra_opt_out", "removed_opt_out", "extra_opt_in", "removed_opt_in",
                   "extra_channels")


@dataclass(frozen=True)
class Vocabulary:
    """Overrides of the default words (folded when used)."""

    extra_opt_out: tuple[str, ...] = ()
    removed_opt_out: tuple[str, ...] = ()
    extra_opt_in: tuple[str, ...] = ()
    removed_opt_in: tuple[str, ...] = ()
    extra_channels: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (word, types)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        channels = data.get("extra_channels", {}) or {}
        return cls(
            tuple(data.get("extra_opt_out", ())), tuple(data.get("removed_opt_out", ())),
            tuple(data.get("extra_opt_in", ())), tuple(data.get("removed_opt_in", ())),
            tuple((w, tuple(t if isinstance(t, list) else [t])) for w, t in channels.items()),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in VOCABULARY_KEYS[:4]:
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.extra_channels:
            out["extra_channels"] = {w: list(t) for w, t in self.extra_channels}
        return out


class Meaning(NamedTuple):
    """What one folded word means on one number.

    ``owners`` is None for a word that counts in every message, or the brands whose
    messages it counts in (a brand's extra word on a shared number).
    """

    kind: str            # "action", "channel" or "tacir"
    value: Any           # "RET"/"ONAY", a tuple of types, or "TACIR"
    owners: frozenset[str] | None = None


class _Sense(NamedTuple):
    kind: str
    value: Any


def _senses(vocabulary: Vocabulary) -> list[tuple[str, _Sense]]:
    return ([(fold(w), _Sense("action", "RET")) for w in vocabulary.extra_opt_out]
            + [(fold(w), _Sense("action", "ONAY")) for w in vocabulary.extra_opt_in]
            + [(fold(w), _Sense("channel", _types(t))) for w, t in vocabulary.extra_channels])


def _types(types: Iterable[str]) -> tuple[str, ...]:
    """Channel types in the one order events use, whatever order the rules file lists."""
    given = tuple(dict.fromkeys(types))
    return tuple(t for t in CHANNEL_TYPES if t in given) + tuple(
        t for t in given if t not in CHANNEL_TYPES)


def required_removals(vocabulary: Vocabulary) -> list[str]:
    """The regulation's opt-out words this vocabulary tries to remove (a validation error)."""
    required = {fold(w) for w in REQUIRED_OPT_OUT}
    return [w for w in vocabulary.removed_opt_out if fold(w) in required]


def _removed(vocabulary: Vocabulary) -> set[tuple[str, _Sense]]:
    required = {fold(w) for w in REQUIRED_OPT_OUT}  # kept even if validation was bypassed
    return ({(fold(w), _Sense("action", "RET")) for w in vocabulary.removed_opt_out
             if fold(w) not in required}
            | {(fold(w), _Sense("action", "ONAY")) for w in vocabulary.removed_opt_in})


def _defaults() -> list[tuple[str, _Sense]]:
    return ([(fold(w), _Sense("action", "RET")) for w in DEFAULT_OPT_OUT]
            + [(fold(w), _Sense("action", "ONAY")) for w in DEFAULT_OPT_IN]
            + [(fold(w), _Sense("channel", t)) for w, t in DEFAULT_CHANNELS.items()])


def number_words(number: Vocabulary, brands: Iterable[tuple[str, Vocabulary]], *,
                 dedicated: bool) -> tuple[dict[str, Meaning], list[tuple[str, tuple[str, ...]]]]:
    """The words of one number and the words that would mean two things there.

    ``brands`` are (brand id, vocabulary) of the brands the number serves. Returns
    ``(words, conflicts)``; a conflicting word keeps its first meaning in ``words`` so that
    matching still works while the operator fixes the rules.
    """
    brands = list(brands)
    everyone = [number, *(v for _, v in brands)] if dedicated else [number]
    removed = set().union(*(_removed(v) for v in everyone))
    senses: dict[str, dict[_Sense, set[str] | None]] = {}

    def add(word: str, sense: _Sense, owner: str | None) -> None:
        if not word or (word, sense) in removed:
            return
        owners = senses.setdefault(word, {})
        if owner is None or owners.get(sense, set()) is None:
            owners[sense] = None
        else:
            owners.setdefault(sense, set()).add(owner)  # type: ignore[union-attr]

    for word, sense in _defaults():
        add(word, sense, None)
    for vocabulary in everyone:
        for word, sense in _senses(vocabulary):
            add(word, sense, None)
    if not dedicated:
        for brand_id, vocabulary in brands:
            for word, sense in _senses(vocabulary):
                add(word, sense, brand_id)
    add(TACIR_WORD, _Sense("tacir", "TACIR"), None)

    words: dict[str, Meaning] = {}
    conflicts: list[tuple[str, tuple[str, ...]]] = []
    for word, meanings in senses.items():
        (sense, owners), *others = meanings.items()
        words[word] = Meaning(sense.kind, sense.value,
                              None if owners is None else frozenset(owners))
        if others:
            conflicts.append((word, tuple(_describe(s) for s in meanings)))
    return words, conflicts


def _describe(sense: _Sense) -> str:
    if sense.kind == "action":
        return "opt-out" if sense.value == "RET" else "opt-in"
    if sense.kind == "channel":
        return "channel " + "+".join(sense.value)
    return sense.kind

"""What a recipient's SMS means: ``match(text, number, rules) -> Decision``.

A strict grammar, stricter for yes than for no:

- **ONAY** needs a message in which every word belongs to the grammar: an opt-in word,
  brand words (name, alias or İYS brand code), channel words, TACIR and a short list of
  courtesy words (``keywords.grammar``). On a brand's dedicated number the brand is implied.
- **RET** needs the same, with one allowance: the canonical word ``RET`` itself (not a
  synonym, not a typo) with the brand named, or implied by a dedicated number, is a RET
  whatever else the message holds (``Lütfen bana mesaj göndermeyin RET ACME``).
- **Negation is never consent.** A negated opt-in word (``izin vermiyorum``, ``IZIN YOK``)
  is a refusal: ``needs_review``, unless the grammar makes a RET certain.
- **Near misses** (``iptal etmek istiyorum``, ``beni listeden çıkarın``, ``mesaj atmayın``)
  are ``needs_review``: their events are the RETs a person's confirmation would create.
  Order, card and code talk and questions are never near misses.
- Typos are read only where the corrected message is wholly grammatical, and an ordinary
  Turkish word is never corrected (``keywords.reading``).

This runs for every SMS, so everything that depends only on the rules (the per-number word
tables, the typo index) is built once per number and cached on the frozen ``RuleSet``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from keywords import grammar, ordinary
from keywords.index import NumberIndex, index_for
from keywords.normalize import fold
from keywords.reading import Reading, Status, counted, read
from keywords.rules import Brand, Number, RuleSet
from keywords.typos import damerau_one
from keywords.vocabulary import CHANNEL_TYPES

__all__ = ["Decision", "EventSpec", "Outcome", "damerau_one", "match"]

Outcome = Literal["consent", "needs_review", "ambiguous", "unknown_brand", "no_keyword",
                  "not_text", "unknown_number"]
CANONICAL_RET = "ret"
UNKNOWN_BRAND_WORDS = 3  # more words than this after an action word: talk, not a brand
NEAR_MISS_EXTRA_WORDS = 1  # an opt-out synonym and the brand with one more word: "IPTAL ACME
                           # şimdi" asks a person; more words and no intent cue: talk


@dataclass(frozen=True)
class EventSpec:
    brand_id: str
    status: Literal["ONAY", "RET"]
    types: tuple[str, ...]
    recipient_type: Literal["BIREYSEL", "TACIR"] = "BIREYSEL"


@dataclass(frozen=True)
class Decision:
    """``events`` are the consent events to create (``consent``), or the RETs a person's
    confirmation would create (``needs_review``); empty for every other outcome."""

    outcome: Outcome
    events: tuple[EventSpec, ...] = ()
    normalized: str = ""
    reason: str = ""
    number: str | None = None  # the configured msisdn the destination matched

    @classmethod
    def not_text(cls, reason: str) -> Decision:
        """For receipts, binary and undecodable messages: the caller never matches those."""
        return cls("not_text", (), "", reason)


Decide = Callable[..., Decision]


def match(text: str, number: str, rules: RuleSet) -> Decision:
    """Decide what ``text`` sent to ``number`` means under ``rules``. Never raises on text."""
    normalized = fold(text)
    found = rules.number_for(number)
    if found is None:
        return Decision("unknown_number", (), normalized,
                        f"Number {number or '(empty)'} is not configured.")
    index = index_for(rules, found)
    reading = read(text, normalized.split(), index)

    def decided(outcome: Outcome, reason: str, events: tuple[EventSpec, ...] = ()) -> Decision:
        return Decision(outcome, events, normalized, reason, found.msisdn)

    return _Message(reading, found, index).decide(decided)


class _Message:
    """One reading on one number, and the questions the decision asks of it."""

    def __init__(self, reading: Reading, number: Number, index: NumberIndex) -> None:
        self.reading, self.number, self.index = reading, number, index
        self.named = list(dict.fromkeys(b for b, _ in reading.brands))
        named_ids = {b.id for b in self.named}
        self.statuses, self.unknown = counted(reading, named_ids)
        self.words = [w for _, w in self.unknown]
        self.where = _where(number, index)
        negations = {p: grammar.negation(w) for p, w in self.unknown}
        self.negations = {p: who for p, who in negations.items() if who is not None}
        negated = self._negated()
        live = [s for s in self.statuses if s.position not in negated]
        self.ret = [s for s in live if s.value == "RET"]
        self.onay = [s for s in live if s.value == "ONAY"]
        self.ret_negated = [s for s in self.statuses if s.value == "RET"
                            and s.position in negated]
        self.onay_negated = [s for s in self.statuses if s.value == "ONAY"
                             and s.position in negated]
        # whose RET a confirmation would be: the named brands, or the dedicated number's
        self.targets: list[Brand] = self.named or (
            [] if number.shared or reading.foreign else list(index.brands))

    def _negated(self) -> set[int]:
        """Positions of the action words a negation follows: Turkish negates after the word
        ("izin vermiyorum", "IZIN YOK ACME"), the nearest one, at most two words back
        ("Hayır, izin vermiyorum" negates the izin, not the hayır)."""
        positions = sorted(s.position for s in self.statuses)
        negated = set()
        for at in self.negations:
            before = [p for p in positions if at - 2 <= p < at]
            if before:
                negated.add(before[-1])
        return negated

    # -- the decision --------------------------------------------------------------------
    def decide(self, decided: Decide) -> Decision:
        if not self.unknown:
            return self._command(decided)
        if self.ret_negated or self.onay and (self.ret or self.negations):
            return decided("ambiguous", f"Opt-out and opt-in words, or a negated one, in one "
                                        f"message on {self.where}: not a command.")
        canonical = [s for s in self.ret if s.word == CANONICAL_RET
                     and not grammar.ret_as_talk(self._word_after(s.position))]
        if canonical and not self.onay and self.targets:
            return self._consent(decided, "RET", canonical[0].word, self.targets,
                                 ignored=self.words)
        if self._refusal():
            if not self.targets:
                return decided("ambiguous", f"Looks like an opt-out request or a refusal "
                                            f"({self._quoted()}) "
                                            f"but names no brand on {self.where}: no one to ask.")
            return self._review(decided)
        return self._not_a_command(decided)

    def _word_after(self, position: int) -> str:
        """The word right after ``position`` when it is outside the grammar, else ""."""
        return next((w for p, w in self.unknown if p == position + 1), "")

    def _command(self, decided: Decide) -> Decision:
        """A wholly grammatical message: the command it states, if it is complete."""
        if not self.statuses:
            return decided("no_keyword", f"No opt-out or opt-in word on {self.where}.")
        if len({s.value for s in self.statuses}) > 1:
            both = " and ".join(sorted({s.word.upper() for s in self.statuses}))
            return decided("ambiguous", f"Both opt-out and opt-in words ({both}) on "
                                        f"{self.where}.")
        status = self.statuses[0]
        if not self.targets:
            return self._no_brand(decided, status)
        return self._consent(decided, status.value, status.word, self.targets)

    def _no_brand(self, decided: Decide, status: Status) -> Decision:
        kind = _kind(status.value)
        if self.reading.foreign:
            others = ", ".join(dict.fromkeys(b.name for b in self.reading.foreign))
            return decided("ambiguous", f"{kind} word {status.word.upper()} names {others}, "
                                        f"not the brand of {self.where}.")
        if self.unknown:
            return decided("unknown_brand",
                           f"{kind} word {status.word.upper()} with words that name no brand "
                           f"({' '.join(self.words)!r}) on {self.where}.")
        return decided("ambiguous", f"{kind} word {status.word.upper()} but no brand named "
                                    f"on {self.where}.")

    def _refusal(self) -> bool:
        """Looks like an attempt to opt out (item 2 of issue #24), though not a command."""
        words = self.words
        if any(grammar.is_ordinary_cue(w) for w in words):
            return False  # "Siparişimi iptal etmek istiyorum": an order, not the list
        if any(grammar.is_refusal_cue(w) for w in words):
            return True   # "beni listeden çıkarın", "mesaj atmayın", "istemiyorum"
        if any(grammar.is_question(w) for w in words):
            return False  # "Kampanya iptal mi oldu?"
        speaker = "speaker" in self.negations.values()
        context = bool(self.onay_negated or self.reading.channels) or any(
            grammar.is_refusal_context(w) for w in words)
        if speaker and context:
            return True   # "izin vermiyorum", "IZIN YOK ACME", "onaylamıyorum"
        if not self.ret:
            return False
        # "iptal etmek istiyorum", "STOP ACME pls"; not "ACME dur bir dakika"
        return any(grammar.is_intent_cue(w) for w in words) or (
            bool(self.named) and len(words) <= NEAR_MISS_EXTRA_WORDS)

    def _not_a_command(self, decided: Decide) -> Decision:
        if not self.statuses:
            return decided("no_keyword", f"No opt-out or opt-in word on {self.where}.")
        status = (self.ret or self.onay or self.statuses)[0]
        talk = (f"{_kind(status.value)} word {status.word.upper()} among words outside the "
                f"grammar ({self._quoted()}) on {self.where}: not a command")
        if self.onay_negated and not self.onay:
            return decided("no_keyword", f"{talk}; a negated opt-in word is never a consent.")
        if not self.targets:
            if self.number.shared and self._names_a_brand_maybe():
                return self._no_brand(decided, status)
            if self.reading.foreign:
                return self._no_brand(decided, status)
            return decided("no_keyword", talk + ".")
        if self.named and not any(grammar.is_ordinary_cue(w) or grammar.is_question(w)
                                  for w in self.words):
            return decided("ambiguous", talk + ".")  # "İZİN ACME ŞİMDİ": tell how to write it
        return decided("no_keyword", talk + ".")

    def _names_a_brand_maybe(self) -> bool:
        """An action word and a few rare words ("RET FOO", "İPTAL TURKCELL"): a brand that is
        not here, unlike "Dur bir dakika" or "Start saat kaçta"."""
        if any(s.word == CANONICAL_RET for s in self.ret):
            return True
        words = self.words
        return (len(words) <= UNKNOWN_BRAND_WORDS
                and not any(grammar.is_ordinary_cue(w) or grammar.is_question(w)
                            or grammar.is_verb(w) or ordinary.is_chatter(w) for w in words))

    # -- outcomes with events ------------------------------------------------------------
    def _types(self) -> tuple[str, ...]:
        typed = {t for types, _ in self.reading.channels for t in types}
        return tuple(t for t in CHANNEL_TYPES if t in typed) or ("MESAJ",)

    def _recipient_type(self) -> Literal["BIREYSEL", "TACIR"]:
        return "TACIR" if self.reading.tacir else "BIREYSEL"

    def _consent(self, decided: Decide, status: str, word: str, brands: list[Brand], *,
                 ignored: list[str] | None = None) -> Decision:
        types, recipient_type = self._types(), self._recipient_type()
        events = tuple(EventSpec(b.id, status, types, recipient_type)  # type: ignore[arg-type]
                       for b in brands)
        reason = (f"{_kind(status)} word {word.upper()} and {self._brands(brands)} on "
                  f"{self.where}: {status} for {'+'.join(types)}, {recipient_type}")
        if self.reading.typos:
            reason += "; read " + ", ".join(f"{a!r} as {b!r}" for a, b in
                                            dict.fromkeys(self.reading.typos))
        if ignored:
            reason += (f"; the canonical RET with the brand is a RET whatever else the "
                       f"message holds ({' '.join(ignored)!r})")
        return decided("consent", reason + ".", events)

    def _review(self, decided: Decide) -> Decision:
        types, recipient_type = self._types(), self._recipient_type()
        events = tuple(EventSpec(b.id, "RET", types, recipient_type) for b in self.targets)
        return decided("needs_review",
                       f"Looks like an opt-out request or a refusal ({self._quoted()}), not a "
                       f"command, on {self.where}: a person confirms or dismisses a RET for "
                       f"{self._brands(self.targets)}.", events)

    def _brands(self, brands: list[Brand]) -> str:
        how = dict(reversed(self.reading.brands))  # the first way each brand was named
        named_as = [f"{b.name} ({how.get(b, 'implied by the number')})" for b in brands]
        return f"brand{'s' if len(brands) > 1 else ''} {', '.join(named_as)}"

    def _quoted(self) -> str:
        return repr(" ".join(self.words))


def _kind(status: str) -> str:
    return "Opt-out" if status == "RET" else "Opt-in"


def _where(number: Number, index: NumberIndex) -> str:
    if number.shared:
        return f"shared number {number.msisdn}"
    owner = index.brands[0].name if index.brands else number.brand
    return f"number {number.msisdn}, dedicated to {owner}"

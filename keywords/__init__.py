"""Keyword logic: pure functions, no I/O. See DESIGN.md (keywords/)."""

from keywords.explain import explain
from keywords.match import Decision, EventSpec, Outcome, match
from keywords.normalize import fold, words
from keywords.replies import render_reply
from keywords.rules import Brand, Conflict, Number, RulesError, RuleSet, Vocabulary

__all__ = [
    "Brand", "Conflict", "Decision", "EventSpec", "Number", "Outcome", "RuleSet", "RulesError",
    "Vocabulary", "explain", "fold", "match", "render_reply", "words",
]

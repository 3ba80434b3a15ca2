"""Matching rules that the corpus states by example, stated here one at a time."""

from __future__ import annotations

import time
from pathlib import Path

from keywords import Decision, EventSpec, RuleSet, explain, match
from tests.keywords.test_corpus import CORPUS

RULES = RuleSet.from_toml((Path(__file__).parent / "rules.toml").read_text(encoding="utf-8"))
ACME_0850 = "908505320000"


def two_brands(**acme_settings: object) -> RuleSet:
    return RuleSet.from_dict({
        "number": [{"msisdn": "4609", "shared": True},
                   {"msisdn": ACME_0850, "brand": "acme"}],
        "brand": [{"id": "acme", "name": "ACME", "iys_code": 1, "brand_code": 11,
                   **acme_settings},
                  {"id": "kuzey", "name": "KUZEY", "iys_code": 1, "brand_code": 12}]})


def test_ret_on_shared_number_without_brand_is_ambiguous() -> None:
    decision = match("RET", "4609", RULES)
    assert (decision.outcome, decision.events) == ("ambiguous", ())
    assert "no brand" in decision.reason


def test_ret_with_words_that_name_no_brand_on_shared_number_is_unknown_brand() -> None:
    decision = match("RET MIGROS", "4609", RULES)
    assert decision.outcome == "unknown_brand"
    assert "'migros'" in decision.reason


def test_another_brand_named_on_a_dedicated_number_is_ambiguous_not_a_consent() -> None:
    decision = match("IZIN KUZEY KAHVE", ACME_0850, RULES)
    assert (decision.outcome, decision.events) == ("ambiguous", ())
    assert "KUZEY KAHVE" in decision.reason and "ACME" in decision.reason


def test_own_brand_named_with_another_on_a_dedicated_number_consents_for_the_own_brand() -> None:
    decision = match("RET ACME KUZEY", ACME_0850, RULES)
    assert decision.events == (EventSpec("acme", "RET", ("MESAJ",), "BIREYSEL"),)


def test_two_brands_in_one_message_give_one_event_each_in_message_order() -> None:
    decision = match("RET KUZEY KAHVE ve ACME arama", "4609", RULES)
    assert decision.events == (EventSpec("kuzey", "RET", ("ARAMA",), "BIREYSEL"),
                               EventSpec("acme", "RET", ("ARAMA",), "BIREYSEL"))


def test_channel_types_come_in_one_stable_order_whatever_the_typed_order() -> None:
    assert match("RET ARAMA MESAJ ACME", "4609", RULES).events[0].types == ("MESAJ", "ARAMA")
    assert match("RET MESAJ ARAMA ACME", "4609", RULES).events[0].types == ("MESAJ", "ARAMA")


def test_reason_names_the_action_word_the_brand_and_how_it_was_named() -> None:
    reason = match("RET ACME MARKET", "4609", RULES).reason
    assert reason.startswith("Opt-out word RET and brand ACME (alias 'ACME MARKET') on "
                             "shared number 4609")
    assert reason.endswith(".")
    assert "(brand code 700002)" in match("izin 700002", "4609", RULES).reason
    assert "implied by the number" in match("ret", ACME_0850, RULES).reason


def test_reason_says_which_typo_was_read_as_what() -> None:
    decision = match("IPTL ACME", "4609", RULES)
    assert decision.outcome == "consent"
    assert "read 'iptl' as 'iptal'" in decision.reason


def test_a_typo_inside_a_multi_word_brand_name_is_still_read() -> None:
    decision = match("RET MAVI DENZI TURIZM", "4609", RULES)
    assert [e.brand_id for e in decision.events] == ["mavi"]


def test_unknown_destination_is_unknown_number_and_says_which() -> None:
    decision = match("RET ACME", "12345", RULES)
    assert (decision.outcome, decision.number) == ("unknown_number", None)
    assert "12345" in decision.reason


def test_decision_not_text_helper_is_for_receipts_and_binary() -> None:
    decision = Decision.not_text("delivery receipt")
    assert (decision.outcome, decision.events, decision.reason) == (
        "not_text", (), "delivery receipt")
    assert explain(decision)["events"] == []


def test_a_brand_extra_word_on_a_shared_number_counts_only_with_that_brand() -> None:
    rules = two_brands(extra_opt_out=["BITIR"])
    assert match("BITIR ACME", "4609", rules).events[0].brand_id == "acme"
    assert match("BITIR KUZEY", "4609", rules).outcome == "no_keyword"
    assert match("BITIR", ACME_0850, rules).outcome == "consent"


def test_a_brand_cannot_remove_a_default_word_for_the_other_brands_on_a_shared_number() -> None:
    # (the regulation's words, RET IPTAL HAYIR DUR STOP, cannot be removed at all)
    rules = two_brands(removed_opt_out=["CIK"])
    assert match("CIK KUZEY", "4609", rules).outcome == "consent"
    assert match("CIK", ACME_0850, rules).outcome == "no_keyword"  # its own number: removed


def test_matching_is_fast_on_the_hot_path() -> None:
    # Measured ~10-25 µs a message on a shared 2-core machine; this bound only catches a
    # regression to scanning (10x slower), not noise.
    for text, number, _ in CORPUS:
        match(text, number, RULES)
    started = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for text, number, _ in CORPUS:
            match(text, number, RULES)
    per_message = (time.perf_counter() - started) / (rounds * len(CORPUS))
    assert per_message < 250e-6, f"{per_message * 1e6:.0f} µs per message"


def test_a_rule_set_built_without_validation_still_keeps_the_regulations_words() -> None:
    from keywords import Number, Vocabulary
    base = two_brands()
    rules = RuleSet(numbers=(Number(ACME_0850, brand="acme",
                                    vocabulary=Vocabulary(removed_opt_out=("RET", "DUR"))),),
                    brands=base.brands)
    assert rules.validate() != []
    assert match("RET", ACME_0850, rules).outcome == "consent"
    assert match("DUR", ACME_0850, rules).outcome == "consent"

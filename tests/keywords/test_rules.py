"""The rules file: validation reports every conflict at once; round trips; explain; replies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from keywords import RulesError, RuleSet, explain, match, render_reply

RULES_FILE = Path(__file__).parent / "rules.toml"
RULES = RuleSet.from_toml(RULES_FILE.read_text(encoding="utf-8"))


def test_toml_round_trip_keeps_everything() -> None:
    again = RuleSet.from_toml(RULES.to_toml())
    assert again == RULES
    assert RuleSet.from_dict(RULES.to_dict()) == RULES


def test_every_conflict_is_reported_at_once() -> None:
    text = """
[[number]]
msisdn = "4609"
shared = true
[[number]]
msisdn = "4609"
shared = true
[[number]]
msisdn = "908500000001"
brand = "nobody"
[[brand]]
id = "a"
name = "ACME"
aliases = ["ORTAK"]
iys_code = 1
brand_code = 1
[[brand]]
id = "b"
name = "BETA"
aliases = ["ORTAK", "IPTAL"]
iys_code = 1
brand_code = 2
[[brand]]
id = "c"
name = "ARAMA"
iys_code = 1
brand_code = "x"
"""
    with pytest.raises(RulesError) as info:
        RuleSet.from_toml(text)
    messages = [c.message for c in info.value.conflicts]
    assert any("brand_code" in m for m in messages)
    assert any("defined twice" in m and "4609" in m for m in messages)
    assert any("unknown brand 'nobody'" in m for m in messages)
    assert any("'ortak' names several brands" in m for m in messages)
    assert any("'iptal'" in m and "action" in m for m in messages)
    assert len(messages) >= 5


def test_brand_word_equal_to_a_channel_word_is_a_conflict() -> None:
    with pytest.raises(RulesError) as info:
        RuleSet.from_dict({"number": [{"msisdn": "4609", "shared": True}],
                           "brand": [{"id": "x", "name": "TUMU", "iys_code": 1,
                                      "brand_code": 1}]})
    assert "channel" in info.value.conflicts[0].message


def test_an_opt_in_word_added_as_opt_out_is_a_conflict() -> None:
    with pytest.raises(RulesError):
        RuleSet.from_dict({"number": [{"msisdn": "4609", "shared": True,
                                       "extra_opt_out": ["EVET"]}], "brand": []})


def test_removed_words_no_longer_match() -> None:
    # CIK is a default of ours, not one of the regulation's words: it may be removed
    rules = RuleSet.from_dict({"number": [{"msisdn": "4609", "shared": True,
                                           "removed_opt_out": ["CIK"]}],
                               "brand": [{"id": "a", "name": "ACME", "iys_code": 1,
                                          "brand_code": 1}]})
    assert match("CIK ACME", "4609", rules).outcome == "no_keyword"
    assert match("RET ACME", "4609", rules).outcome == "consent"


@pytest.mark.parametrize("word", ["RET", "İPTAL", "iptal", "HAYIR", "DUR", "STOP"])
@pytest.mark.parametrize("where", ["number", "brand"])
def test_the_regulations_opt_out_words_cannot_be_removed(word: str, where: str) -> None:
    number: dict[str, object] = {"msisdn": "908505320000", "brand": "a"}
    brand: dict[str, object] = {"id": "a", "name": "ACME", "iys_code": 1, "brand_code": 1}
    (number if where == "number" else brand)["removed_opt_out"] = [word]
    with pytest.raises(RulesError) as raised:
        RuleSet.from_dict({"number": [number], "brand": [brand]})
    assert [c.word for c in raised.value.conflicts] == [word]
    assert "cannot be removed" in str(raised.value)


@pytest.mark.parametrize("spelling", ["4609", "908505320000", "08505320000", "8505320000",
                                      "+908505320000"])
def test_number_lookup_tolerates_spellings(spelling: str) -> None:
    assert RULES.number_for(spelling) is not None


def test_explain_has_outcome_events_normalized_and_reason() -> None:
    out = explain(match("ızın acme arama", "4609", RULES))
    assert out["outcome"] == "consent"
    assert out["events"] == [{"brand": "acme", "status": "ONAY", "types": ["ARAMA"],
                              "recipient_type": "BIREYSEL"}]
    assert out["normalized"] == "izin acme arama"
    assert out["reason"].endswith(".") and "ACME" in out["reason"]


def test_explain_command_prints_one_json_object_from_a_rules_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inbound.cli", "explain", "--number", "4609", "--rules",
         str(RULES_FILE), "ret kuzey kahve"], capture_output=True, text=True, check=True)
    out = json.loads(result.stdout)
    assert out["outcome"] == "consent" and out["events"][0]["brand"] == "kuzey"


def test_replies_default_to_turkish_and_honour_brand_templates() -> None:
    assert "ACME" in (render_reply(RULES, "acme", "consent", "RET") or "")
    custom = RuleSet.from_dict({"number": [{"msisdn": "4609", "shared": True}],
                                "brand": [{"id": "a", "name": "ACME", "iys_code": 1,
                                           "brand_code": 1,
                                           "replies": {"RET": "Tamam {brand}", "ONAY": ""}}]})
    assert render_reply(custom, "a", "consent", "RET") == "Tamam ACME"
    assert render_reply(custom, "a", "consent", "ONAY") is None  # empty template: no reply
    assert render_reply(RULES, None, "no_keyword") is None        # never answer chatter
    assert render_reply(RULES, None, "not_text") is None
    assert render_reply(RULES, None, "ambiguous", language="en").startswith("Your message")


def rules_with(numbers: list[dict], brands: list[dict] | None = None) -> RuleSet:
    return RuleSet.from_dict({"number": numbers, "brand": brands if brands is not None else [
        {"id": "a", "name": "ACME", "iys_code": 1, "brand_code": 1}]})


def conflicts_of(numbers: list[dict], brands: list[dict] | None = None) -> list[str]:
    with pytest.raises(RulesError) as info:
        rules_with(numbers, brands)
    return [c.message for c in info.value.conflicts]


def test_one_number_spelled_two_ways_is_a_conflict() -> None:
    messages = conflicts_of([{"msisdn": "908505320000", "brand": "a"},
                             {"msisdn": "08505320000", "brand": "a"}])
    assert messages == ["number 08505320000 is the same number as 908505320000"]


def test_a_shared_number_cannot_name_a_brand_nor_a_dedicated_one_list_brands() -> None:
    messages = conflicts_of([{"msisdn": "4609", "shared": True, "brand": "a"},
                             {"msisdn": "908505320000", "brand": "a", "brands": ["a"]}])
    assert len(messages) == 2
    assert "shared but names brand 'a'" in messages[0]
    assert "dedicated: it cannot list brands" in messages[1]


def test_reply_templates_with_unknown_keys_or_placeholders_are_reported() -> None:
    messages = conflicts_of([{"msisdn": "4609", "shared": True,
                              "replies": {"RETT": "x", "ONAY": "{brnd} tamam"}}])
    assert len(messages) == 2
    assert "unknown reply 'RETT'" in messages[0]
    assert "{brnd}" in messages[1]


def test_a_channel_word_must_mean_mesaj_or_arama() -> None:
    messages = conflicts_of([{"msisdn": "4609", "shared": True,
                              "extra_channels": {"FAKS": ["FAX"]}}])
    assert messages == ["number 4609: channel word 'FAKS' must mean MESAJ and/or ARAMA, "
                        "not FAX"]


def test_a_default_channel_word_redefined_is_a_conflict_naming_both_meanings() -> None:
    with pytest.raises(RulesError) as info:
        rules_with([{"msisdn": "4609", "shared": True, "extra_channels": {"SMS": ["ARAMA"]}}])
    (conflict,) = info.value.conflicts
    assert (conflict.number, conflict.word) == ("4609", "sms")
    assert conflict.meanings == ("channel MESAJ", "channel ARAMA")
    assert conflict.message == "on 4609, 'sms' is both a channel MESAJ and a channel ARAMA word"


def test_two_brands_adding_one_word_with_opposite_meanings_on_a_shared_number_conflict() -> None:
    messages = conflicts_of([{"msisdn": "4609", "shared": True}], [
        {"id": "a", "name": "ACME", "iys_code": 1, "brand_code": 1, "extra_opt_out": ["TAMAM"]},
        {"id": "b", "name": "BETA", "iys_code": 1, "brand_code": 2, "extra_opt_in": ["TAMAM"]}])
    assert messages == ["on 4609, 'tamam' is both an opt-out and an opt-in word"]


def test_validate_on_a_good_rule_set_finds_nothing() -> None:
    assert RULES.validate() == []


@pytest.mark.parametrize("spelling", ["0850 532 00 00", "00908505320000", "(0850) 532-0000"])
def test_number_lookup_ignores_spaces_and_international_prefixes(spelling: str) -> None:
    found = RULES.number_for(spelling)
    assert found is not None and found.brand == "acme"


@pytest.mark.parametrize("spelling", ["", "46", "46090", "908505320001", "abc"])
def test_number_lookup_finds_nothing_for_other_numbers(spelling: str) -> None:
    assert RULES.number_for(spelling) is None


def test_a_number_template_beats_the_brand_template_which_beats_the_default() -> None:
    rules = RuleSet.from_dict({
        "number": [{"msisdn": "4609", "shared": True},
                   {"msisdn": "908505320000", "brand": "a",
                    "replies": {"RET": "{number}: {brand} tamam"}}],
        "brand": [{"id": "a", "name": "ACME", "iys_code": 1, "brand_code": 1,
                   "replies": {"RET": "{brand} çıkış"}}]})
    assert render_reply(rules, "a", "consent", "RET", number="908505320000") == (
        "908505320000: ACME tamam")
    assert render_reply(rules, "a", "consent", "RET", number="4609") == "ACME çıkış"
    assert render_reply(rules, "a", "consent", "ONAY") == (
        "ACME ticari ileti izniniz alındı. Vazgeçmek için RET ACME yazıp gönderebilirsiniz.")


def test_no_reply_for_an_unknown_brand_or_a_consent_without_status() -> None:
    assert render_reply(RULES, "no-such-brand", "consent", "RET") is None
    assert render_reply(RULES, "acme", "consent") is None
    assert render_reply(RULES, None, "unknown_number") is None


def test_a_language_without_defaults_falls_back_to_turkish() -> None:
    assert render_reply(RULES, "acme", "consent", "RET", language="de") == render_reply(
        RULES, "acme", "consent", "RET")
    assert render_reply(RULES, "acme", "consent", "RET", language="en") == (
        "You have been removed from ACME's commercial messages; İYS will be notified.")


EVERYTHING = """
[[number]]
msisdn = "4609"
shared = true
brands = ["acme", "beta"]
removed_opt_out = ["CIK"]
extra_channels = { SESLI = ["ARAMA"], IKISI = ["ARAMA", "MESAJ"] }
replies = { ambiguous = "" }

[[number]]
msisdn = "908505320000"
brand = "acme"
extra_opt_in = ["KATIL"]
replies = { ONAY = "{brand}: tamam ({number})" }

[[brand]]
id = "acme"
name = "ACME"
aliases = ["ACME MARKET"]
iys_code = 700001
brand_code = 700001
extra_opt_out = ["BITIR"]
removed_opt_in = ["START"]
replies = { RET = "{brand} çıkış" }

[[brand]]
id = "beta"
name = "BETA GIDA"
iys_code = 700001
brand_code = 700002
"""


def test_toml_round_trip_keeps_vocabularies_channels_and_replies() -> None:
    rules = RuleSet.from_toml(EVERYTHING)
    again = RuleSet.from_toml(rules.to_toml())
    assert again == rules
    assert again.to_dict() == rules.to_dict()
    assert match("KATIL", "908505320000", again).events[0].status == "ONAY"
    assert match("RET BETA GIDA SESLI", "4609", again).events[0].types == ("ARAMA",)
    assert match("IKISI RET BETA GIDA", "4609", again).events[0].types == ("MESAJ", "ARAMA")


def test_wrongly_typed_fields_are_problems_not_crashes() -> None:
    with pytest.raises(RulesError) as info:
        RuleSet.from_dict({"number": [{"msisdn": "4609", "shared": True,
                                       "extra_channels": ["SESLI"], "brands": "acme"}],
                           "brand": [{"id": "Bad Id", "name": "X", "iys_code": 1,
                                      "brand_code": 1},
                                     {"id": "ok", "name": "OK", "iys_code": 1, "brand_code": 2,
                                      "aliases": "OKAY", "replies": {"RET": 5}}]})
    messages = sorted(c.message for c in info.value.conflicts)
    assert messages == [
        "brand[Bad Id].id: must be a short slug: a-z, 0-9, '-', '_'",
        "brand[ok].aliases: must be a list of strings",
        "brand[ok].replies: must map RET, ONAY, ambiguous or unknown_brand to a template",
        "number[4609].brands: must be a list of strings",
        "number[4609].extra_channels: must map words to MESAJ and/or ARAMA",
    ]


def test_a_file_that_is_not_toml_is_one_problem() -> None:
    with pytest.raises(RulesError) as info:
        RuleSet.from_toml("[[number]\nmsisdn = ")
    assert len(info.value.conflicts) == 1
    assert info.value.conflicts[0].message.startswith("not valid TOML")

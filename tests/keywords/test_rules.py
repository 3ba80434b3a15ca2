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
    rules = RuleSet.from_dict({"number": [{"msisdn": "4609", "shared": True,
                                           "removed_opt_out": ["DUR"]}],
                               "brand": [{"id": "a", "name": "ACME", "iys_code": 1,
                                          "brand_code": 1}]})
    assert match("DUR ACME", "4609", rules).outcome == "no_keyword"
    assert match("RET ACME", "4609", rules).outcome == "consent"


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

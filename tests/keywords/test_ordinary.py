"""Ordinary messages create nothing; refusals never create an ONAY (issue #24, item 1).

Each table runs on the shared 4609 and on ACME's dedicated 908505320000, under the corpus
rules and under the demo rules the service starts with.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keywords import EventSpec, RuleSet, match
from keywords.grammar import negation
from keywords.ordinary import is_ordinary

HERE = Path(__file__).resolve().parent
RULES = RuleSet.from_toml((HERE / "rules.toml").read_text(encoding="utf-8"))
DEMO = RuleSet.from_toml((HERE.parents[1] / "inbound" / "demo_rules.toml").read_text(
    encoding="utf-8"))
SHARED, DEDICATED = "4609", "908505320000"
ACME_RET = (EventSpec("acme", "RET", ("MESAJ",), "BIREYSEL"),)

ORDINARY = [
    # the issue's examples
    "Bilgi için teşekkürler", "Stok var mı?", "Onay kodunuz: 482913",
    "Kredi kartı onay vermedi", "Dur bir dakika", "Kabul günü ne zaman",
    "Siparişimi iptal etmek istiyorum, numaram 12345", "Start saat kaçta",
    # questions
    "Merhaba, kampanya ne zaman bitiyor?", "Kargom nerede?", "Mağazanız kaçta açılıyor?",
    "Kampanya iptal mi oldu?", "İzin günüm ne zaman?", "Yıllık izin için bilgi alabilir miyim",
    "Kabul ettiğiniz kartlar neler?", "Bu kampanyadan nasıl yararlanabilirim?",
    "Fatura onayı için ne yapmalıyım", "Kredi başvurum onaylandı mı", "Stokta kalmadı mı",
    "Durumum nedir", "Hediye çekim ne zaman gelir",
    # thanks and chat
    "Teşekkürler, çok güzel bir kampanya", "Tamam, teşekkürler", "Mesajınızı aldım, teşekkürler",
    "Hayırlı olsun", "Evet geliyorum", "Onay bekliyorum", "Dur, yanlış numara",
    "Stop lambası yanıyor", "Evet ama önce fiyatı öğrenmek istiyorum",
    # order talk
    "Siparişim hâlâ gelmedi", "Ürünü iade etmek istiyorum", "Randevumu iptal etmek istiyorum",
    "Rezervasyonumu iptal edebilir misiniz?", "Evet, siparişimi aldım",
    "Hayır, ben sipariş vermedim", "Lütfen kargo takip numarasını gönderin",
    "Numaram değişti, yeni numaram 05321234567", "Onay verdim ama ürün gelmedi",
    # OTP echoes
    "Doğrulama kodum 123456", "Onay kodu 9921", "ONAY KODUNUZ 482913 KIMSEYLE PAYLASMAYIN",
    # complaints
    "Şifremi unuttum", "İndirim kodu çalışmıyor", "Ödeme onayı gelmedi",
    "Kartım neden reddedildi?", "Dur durak bilmiyor bu fiyatlar", "Sms gelmiyor",
    "Arama yapmıştım, dönüş olmadı", "Kuponu kabul etmedi kasa", "Start butonuna bastım olmadı",
    "Kabul ediyorum ama şartları okumadım",
    # "ret" as a noun, talk about a rejection (on the dedicated number the brand is implied)
    "Başvurum ret mi edildi?", "Kredi başvurum ret oldu", "Vize başvurusu ret aldı",
    "Teklifim ret edildi, neden?",
]
ORDINARY_NAMING_THE_BRAND = [
    "ACME için teşekkürler", "ACME stok var mi", "ACME mağazası kaçta kapanıyor?",
    "ACME siparişim nerede", "ACME kampanya ne zaman bitiyor", "ACME kartımı kabul etmedi",
    "ACME onay kodu gelmedi", "ACME kabul günü ne zaman", "ACME iade kodumu gönderin",
    "Merhaba ACME, ürün stokta mı?",
]
REFUSALS = [
    # the issue's examples
    "İzin vermiyorum", "izin yok", "Onaylamıyorum", "onay vermiyorum",
    "Bu mesajlara onay vermedim", "ACME izin vermiyorum", "IZIN YOK ACME",
    "ACME kabul etmiyorum",
    # more
    "Kabul etmiyorum", "İznim yok", "Onay vermem", "Hiçbir mesaja izin vermedim",
    "Size izin vermedim", "Ben onay vermedim, mesaj atmayın", "İzin falan vermiyorum",
    "Onay değil", "İzin vermeyeceğim", "Kabul etmem", "Reklam mesajı istemiyorum",
    "Artık mesaj göndermeyin", "Beni aramayın", "Mesajlarınızı istemiyorum",
    "İzin vermiyoruz", "Rızam yok", "Hayır, izin vermiyorum", "Evet değil, izin vermiyorum",
    "Onay vermiyorum lütfen",
]


def test_the_tables_are_as_large_as_the_issue_asks() -> None:
    assert len(ORDINARY) + len(ORDINARY_NAMING_THE_BRAND) >= 40 and len(REFUSALS) >= 20


@pytest.mark.parametrize("rules", [RULES, DEMO], ids=["corpus-rules", "demo-rules"])
@pytest.mark.parametrize("number", [SHARED, DEDICATED])
@pytest.mark.parametrize("text", ORDINARY + ORDINARY_NAMING_THE_BRAND)
def test_an_ordinary_message_creates_nothing_and_asks_no_one(text: str, number: str,
                                                             rules: RuleSet) -> None:
    decision = match(text, number, rules)
    assert decision.events == (), decision.reason
    assert decision.outcome not in {"consent", "needs_review"}, decision.reason


@pytest.mark.parametrize("rules", [RULES, DEMO], ids=["corpus-rules", "demo-rules"])
@pytest.mark.parametrize("text", REFUSALS)
def test_a_refusal_is_never_an_onay_and_asks_a_person_for_the_brand(text: str,
                                                                   rules: RuleSet) -> None:
    named = text if "ACME" in text else f"ACME {text}"
    for sent, number in ((text, DEDICATED), (named, SHARED)):
        decision = match(sent, number, rules)
        assert (decision.outcome, decision.events) == ("needs_review", ACME_RET), (
            sent, number, decision.reason)
    # with no brand named on the shared number there is no one to ask, and still no ONAY
    unnamed = match(text.replace("ACME", ""), SHARED, rules)
    assert unnamed.events == () and unnamed.outcome == "ambiguous", unnamed.reason


@pytest.mark.parametrize("rules", [RULES, DEMO], ids=["corpus-rules", "demo-rules"])
@pytest.mark.parametrize(("text", "number"), [
    ("beni listeden çıkarın", DEDICATED), ("iptal etmek istiyorum", DEDICATED),
    ("izin vermiyorum", DEDICATED), ("mesaj atmayın", DEDICATED),
    ("ACME izin vermiyorum", SHARED), ("IZIN YOK ACME", SHARED), ("ACME mesaj atmayın", SHARED),
])
def test_the_near_misses_other_parts_rely_on(text: str, number: str, rules: RuleSet) -> None:
    decision = match(text, number, rules)
    assert (decision.outcome, decision.events) == ("needs_review", ACME_RET), decision.reason
    assert decision.reason


def test_a_near_miss_on_a_shared_number_naming_no_brand_is_ambiguous() -> None:
    decision = match("beni listeden çıkarın", SHARED, RULES)
    assert (decision.outcome, decision.events) == ("ambiguous", ())
    assert "no one to ask" in decision.reason


@pytest.mark.parametrize(("text", "number", "status"), [
    ("İZİN ACME, teşekkürler", SHARED, "ONAY"), ("ACME'ye izin veriyorum", SHARED, "ONAY"),
    ("kabul ediyorum", DEDICATED, "ONAY"), ("Lütfen RET", DEDICATED, "RET"),
    ("Hayır teşekkürler", DEDICATED, "RET"), ("RET ACME, iyi günler", SHARED, "RET"),
    ("Mesaj göndermeyin artık. RET ACME", SHARED, "RET"),  # the canonical RET's allowance
    ("ret", DEDICATED, "RET"),
])
def test_grammatical_commands_and_the_canonical_ret_still_work(text: str, number: str,
                                                               status: str) -> None:
    decision = match(text, number, RULES)
    assert decision.outcome == "consent", decision.reason
    assert [e.status for e in decision.events] == [status]


@pytest.mark.parametrize(("text", "typed"), [
    ("Bilgi icin tesekkurler", "icin"), ("ACME icin", "icin"), ("stok acme", "stok"),
    ("IZNI ACME", "izni"), ("DURUM ACME", "durum"), ("acem RET", None),
])
def test_an_ordinary_word_is_never_corrected_into_a_keyword(text: str,
                                                            typed: str | None) -> None:
    decision = match(text, SHARED, RULES)
    assert "read " not in decision.reason
    assert all(e.status == "RET" for e in decision.events) and (
        typed is None or decision.events == ())


def test_typos_are_read_only_when_the_corrected_message_is_wholly_grammatical() -> None:
    assert match("IPTL ACME", SHARED, RULES).events[0].status == "RET"
    assert match("IZN ACME", SHARED, RULES).events == ()      # three letters: never
    loose = match("KABLU ACME yarın", SHARED, RULES)           # a typo among other words
    assert loose.events == () and "read " not in loose.reason


def test_wordfreq_ships_its_turkish_list_in_the_package() -> None:
    # no download at run time: the list is a file inside the installed wheel
    assert (resources.files("wordfreq") / "data" / "small_tr.msgpack.gz").is_file()
    assert is_ordinary("için") and is_ordinary("icin") and is_ordinary("stok")
    assert not is_ordinary("iptl") and not is_ordinary("acme")


@pytest.mark.parametrize("word", [
    "vermiyorum", "vermedim", "istemiyorum", "onaylamiyorum", "etmiyorum", "vermem",
    "gondermeyin", "atmayin", "aramayin", "vermeyecegim", "gonderilmesin", "yok", "degil",
    "vermiyor", "vermedi", "olmaz", "vermez", "vermemek",
])
def test_negative_forms_are_read_from_their_morphology(word: str) -> None:
    assert negation(word) is not None


@pytest.mark.parametrize("word", ["mesaj", "tamam", "arama", "izin", "veriyorum", "kampanya",
                                  "iptal", "ederim", "tesekkurler", "sms", "durum"])
def test_ordinary_words_are_not_negative_forms(word: str) -> None:
    assert negation(word) is None


STEMS = ["ver", "et", "iste", "onayla", "kabul et", "gönder", "at", "yolla", "izin ver"]
NEGATIVE_ENDINGS = ["miyorum", "mıyorum", "muyorum", "müyorum", "medim", "madım", "mem",
                    "mam", "meyin", "mayın", "mez", "maz", "meyeceğim", "mıyoruz", "medik"]
GRAMMAR = ["IZIN", "İZİN", "ONAY", "EVET", "KABUL", "START", "ACME", "KUZEY KAHVE",
           "700001", "lütfen", "teşekkürler", "veriyorum", "MESAJ", "TACIR", "ve", "izni",
           "IZNI", "RET"]


@given(st.lists(st.sampled_from(GRAMMAR), max_size=5), st.sampled_from(STEMS),
       st.sampled_from(NEGATIVE_ENDINGS + ["yok", "değil"]), st.lists(
           st.sampled_from(GRAMMAR), max_size=4),
       st.sampled_from([SHARED, DEDICATED, "3340", "908504440000"]))
@settings(max_examples=400)
def test_a_message_with_a_negation_never_yields_an_onay(before: list[str], stem: str,
                                                        ending: str, after: list[str],
                                                        number: str) -> None:
    negative = ending if ending in ("yok", "değil") else stem + ending
    text = " ".join([*before, negative, *after])
    decision = match(text, number, RULES)
    assert "ONAY" not in {e.status for e in decision.events}, (text, decision.reason)

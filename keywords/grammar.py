"""The words around a command, and the signs of a refusal (all on folded words).

A command's words are its action word, brand words, channel words and TACIR; besides them
only the short lists here may appear: courtesy (``lütfen``, ``teşekkürler``), the verbs of
a consent (``izin veriyorum``, ``kabul ediyorum``, only beside an opt-in word) and a dative
suffix written after a brand with an apostrophe (``Acme'ye`` folds to ``acme ye``).

Everything else here tells a message that is *not* a command apart:

- **negation**: Turkish negative verb forms, read from their morphology (``-m(ı|i|u|ü)yor``,
  ``-me(d|z)``/``-ma(d|z)``, ``-mem``/``-mam``, ``-meyin``/``-mayın``, ``-mesin``,
  ``-meyecek``, ``-memek``) plus ``yok`` and ``değil``. The speaker's own refusals
  (first person, imperative, ``yok``, ``değil``) are told from a third person's
  (``kart onay vermedi``).
- **refusal cues**: words that say "take me off" in free text (``listeden``, ``çıkarın``,
  ``istemiyorum``, a negated sending verb such as ``göndermeyin``).
- **intent cues**: words that turn an opt-out synonym into a request (``iptal etmek
  istiyorum``), unlike ``Dur bir dakika``.
- **ordinary cues**: an order, a card, a code, a question (``sipariş``, ``kart``, ``kodunuz``,
  ``mı``, ``kaçta``): such a message is about something else and never a near miss.
"""

from __future__ import annotations

import re
from typing import Literal

COURTESY = frozenset({
    "lutfen", "tesekkurler", "tesekkur", "tesekkurederim", "ederim", "sagol", "sagolun",
    "sagolunuz", "merhaba", "selam", "selamlar", "ve", "iyi", "gunler", "saygilar",
    "saygilarimla", "rica", "bireysel",
})
OPT_IN_VERBS = frozenset({"veriyorum", "veriyoruz", "ediyorum", "ediyoruz"})
DATIVE_SUFFIXES = frozenset({"e", "a", "ye", "ya"})  # Acme'ye, Kuzey'e: "to the brand"

Negation = Literal["speaker", "other"]

# (pattern, whose refusal): the verb stem needs two letters, so "mesaj" is not "-me-".
_NEGATIVE_FORMS: tuple[tuple[re.Pattern[str], Negation], ...] = tuple(
    (re.compile(p), who) for p, who in (
        (r"^[a-z]{2,}m[iu]yor(um|uz)$", "speaker"),           # vermiyorum, istemiyoruz
        (r"^[a-z]{2,}m[ea]d[iu](m|k)$", "speaker"),           # vermedim, etmedik
        (r"^[a-z]{2,}m[ea]m$", "speaker"),                    # vermem, istemem
        (r"^[a-z]{2,}m[ea]y[iu]z$", "speaker"),               # vermeyiz
        (r"^[a-z]{2,}m[ea]y[ea]c[ea](g[iu]m|g[iu]z)$", "speaker"),  # vermeyecegim
        (r"^[a-z]{2,}m[ea]y(in|iniz|un|unuz)$", "speaker"),   # gondermeyin, atmayin
        (r"^[a-z]{2,}m[ea]s[iu]n(lar|ler)?$", "speaker"),     # gonderilmesin
        (r"^[a-z]{2,}m[iu]yor[a-z]*$", "other"),              # vermiyor, vermiyorsunuz
        (r"^[a-z]{2,}m[ea]d[iu][a-z]*$", "other"),            # vermedi, vermediniz
        (r"^[a-z]{2,}m[ea]z(sin|siniz|sunuz|lar|ler)?$", "other"),  # vermez, olmaz
        (r"^[a-z]{2,}m[ea]y[ea]c[ea]k[a-z]*$", "other"),      # vermeyecek
        (r"^[a-z]{2,}m[ea]m[ea]k[a-z]*$", "other"),           # vermemek
    ))
_NEGATIVE_WORDS: dict[str, Negation] = {"yok": "speaker", "degil": "speaker",
                                        "degilim": "speaker", "asla": "speaker"}
# words the patterns would misread: "tamam" (okay) is not "ta-mam"
_NOT_NEGATIVE = frozenset({"tamam", "hamam", "imam", "madem", "yilmaz", "komedi",
                           "ramazan"})


def negation(word: str) -> Negation | None:
    """Whether ``word`` is a negative form, and whose: the speaker's own or someone's."""
    if word in _NEGATIVE_WORDS:
        return _NEGATIVE_WORDS[word]
    if len(word) < 4 or word in _NOT_NEGATIVE or not word.isalpha():
        return None
    for pattern, who in _NEGATIVE_FORMS:
        if pattern.match(word):
            return who
    return None


# a negated verb from one of these stems is a refusal by itself: "göndermeyin", "istemiyorum"
_SENDING_STEMS = ("gonder", "yolla", "atma", "atmi", "arama", "aranma", "yazma", "iste")
# an opt-in word made a negative verb: "onaylamıyorum", "iznim yok"
_OPT_IN_STEMS = ("onay", "izin", "izn", "kabul", "riza")
_MESSAGING = ("mesaj", "sms", "ileti", "reklam", "bildirim", "arama", "aranma")
_REFUSAL_STEMS = ("listeden", "listenizden", "listesinden", "cikar", "cikart", "engelle",
                  "vazgec", "reddediyor")
_REFUSAL_WORDS = frozenset({"sil", "silin", "siliniz", "silinsin", "silmenizi"})
# beside a negation these make it the speaker's refusal of messages: "rahatsız etmeyin"
_REFUSAL_CONTEXT = ("rahatsiz", "beni", "bana")
_INTENT = frozenset({"istiyorum", "istiyoruz", "istemiyorum", "edin", "ediniz", "et",
                     "etmek", "etmenizi", "ediyorum", "ettim", "yapin", "beni", "bana",
                     "artik", "numarami", "numaramizi", "rahatsiz", "abonelik",
                     "aboneligimi", "uyeligimi"})
_ORDINARY_STEMS = ("siparis", "kart", "kod", "kargo", "urun", "fatura", "odeme", "iade",
                   "teslim", "paket", "rezervasyon", "randevu", "sifre", "sepet", "hesab",
                   "hesap", "kredi", "bakiye", "borc", "kupon")
_QUESTIONS = frozenset({"mi", "mu", "misiniz", "musunuz", "miyim", "miyiz", "ne", "neden",
                        "niye", "nasil", "nerede", "nereden", "hangi", "kim"})


def is_opt_in_stem(word: str) -> bool:
    return word.startswith(_OPT_IN_STEMS)


def is_messaging(word: str) -> bool:
    return word.startswith(_MESSAGING)


def is_refusal_context(word: str) -> bool:
    """A word that makes a negation a refusal of messages (the speaker's, about them)."""
    return is_opt_in_stem(word) or is_messaging(word) or word.startswith(_REFUSAL_CONTEXT)


def is_refusal_cue(word: str) -> bool:
    """A word asking to be taken off, whatever else the message says."""
    return word in _REFUSAL_WORDS or word.startswith(_REFUSAL_STEMS) or (
        negation(word) == "speaker" and word.startswith(_SENDING_STEMS))


def is_intent_cue(word: str) -> bool:
    return word in _INTENT or is_messaging(word) or is_refusal_cue(word)


def is_ordinary_cue(word: str) -> bool:
    """Order, card, code or account talk: the message is about something else."""
    return word.startswith(_ORDINARY_STEMS)


def is_question(word: str) -> bool:
    return word in _QUESTIONS or word.startswith("kac")


# personal endings of conjugated verbs: "bekliyorum", "geldim", "yaniyor" are talk, not brands
_VERB_ENDINGS = ("yor", "yorum", "yoruz", "yorsunuz", "dim", "dum", "tim", "tum", "dik", "duk",
                 "tik", "tuk", "miz", "acak", "ecek", "acagim", "ecegim")


def is_verb(word: str) -> bool:
    return len(word) > 4 and word.isalpha() and word.endswith(_VERB_ENDINGS)


# "ret" as a noun in talk about something else: "Başvurum ret mi edildi?", "ret aldım",
# "kredim ret oldu". The canonical RET's allowance (a RET whatever else the message holds)
# is for a person who says RET and more, not for one who asks about a rejection: a question
# particle or a third-person or passive verb right after it is talk (a false RET silences a
# customer). "RET ediyorum" and "RET etmek istiyorum" stay the sender's own opt-out.
_TALK_AFTER_RET = frozenset({
    "mi", "mu", "misin", "misiniz", "midir", "mudur", "edildi", "edilmis", "edilecek",
    "ediliyor", "edilir", "etti", "etmis", "ettiler", "etmisler", "oldu", "olmus", "olacak",
    "oluyor", "aldi", "aldim", "aldik", "yedi", "yedim", "cikti", "verildi", "verdi",
})


def ret_as_talk(word_after: str) -> bool:
    return word_after in _TALK_AFTER_RET

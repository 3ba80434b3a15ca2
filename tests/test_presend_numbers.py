"""The pre-send check's fast normaliser gives exactly what the input layer's
``normalise_recipient`` gives, on every shape people type (and on random digits)."""

from __future__ import annotations

import random

import pytest

from inbound.presend_numbers import Normaliser
from iys_push.consent_rules import normalise_recipient


def shapes(n10: str) -> list[str]:
    a, b, c, d = n10[:3], n10[3:6], n10[6:8], n10[8:]
    return [n10, "0" + n10, "+90" + n10, "90" + n10, "0090" + n10, f"0{a} {b} {c} {d}",
            f"+90 ({a}) {b}-{c}-{d}", f"+90 {a} {b} {c} {d}", "+900" + n10, f" 0{n10} ",
            n10[:-1], "0" + n10 + "1", f"{a}.{b}.{c}{d}", "+" + n10, "9" + n10,
            f"0{a}\t{b}{c}{d}", "0" + n10 + " " * 20, f"٠{n10}"]


@pytest.mark.parametrize("type_", ["MESAJ", "ARAMA"])
def test_the_fast_path_agrees_with_the_input_layer(type_: str) -> None:
    rnd = random.Random(29)
    normalise = Normaliser(type_)
    checked = 0
    for _ in range(600):
        n10 = "".join(rnd.choice("0123456789") for _ in range(10))
        if rnd.random() < 0.6:
            n10 = rnd.choice("5234") + n10[1:]
        for raw in shapes(n10):
            assert normalise(raw) == normalise_recipient(raw, type_), (raw, type_)
            checked += 1
    assert checked == 600 * len(shapes("5321234567"))


def test_common_forms_and_refusals() -> None:
    mesaj, arama = Normaliser("MESAJ"), Normaliser("ARAMA")
    for raw in ("0532 123 45 67", "532 123 45 67", "+90 532 123 45 67", "905321234567",
                "+90 (532) 123-45-67", "+9005321234567"):
        assert mesaj(raw) == "+905321234567", raw
    assert mesaj("0212 123 45 67") is None and arama("0212 123 45 67") == "+902121234567"
    assert mesaj("0532") is None and mesaj("") is None
    assert Normaliser("EPOSTA")("Kisi@Ornek.com") == "kisi@ornek.com"

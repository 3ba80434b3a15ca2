"""The row check's fast paths give the answers of the slow, plain one.

``check_row`` skips ``parse_item`` for a row whose recipient and other values pass (the
verdict on the other values memoised per combination) and normalises phone numbers with
``inbound.presend_numbers.Normaliser`` (libphonenumber only as its fallback). Here every row
of a table of tricky inputs is checked both ways: ``check_row`` as it runs, and a reference
that always calls ``consents.parse_item`` with ``normalise_recipient`` (libphonenumber) —
same consent or same refusal code and reason, row by row.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from inbound import api, consents  # noqa: F401  (the API package first: import cycle)
from inbound.imports import check
from iys_push.consent_rules import normalise_recipient
from iys_push.timefmt import TR

NOW = datetime.now(UTC)
RECENT = (NOW - timedelta(minutes=30)).astimezone(TR).strftime("%d.%m.%Y %H:%M")

PHONES = ("0532 123 45 67", "+90 532 123 45 67", "905321234567", "00905321234567",
          "(0532) 123-45-67", "5321234567", "0532.123.45.67", " 05321234567 ",
          "+9005321234567", "0090 0532 123 45 67", "0850 123 45 67", "0212 123 45 67",
          "+90 212 123 45 67", "0800 123 45 67", "0900 123 45 67", "0444 1 444",
          "+1 202 555 0100", "0532 123 45 6", "0532 123 45 678", "053212345678",
          "05321234567x", "abc", "+", "0000000000", "0532\u00a0123 45 67",
          "0532\u200f1234567", "\u0660\u0665\u0663\u0662\u0661\u0662\u0663\u0664\u0665\u0666"
          "\u0667", "０５３２１２３４５６７", "+90 (532) 123 45 67", "90 532 123 45 67",
          "0 532 123 45 67", "0505 123 45 67", "0510 123 45 67", "0599 999 99 99",
          "1234567890123456789012345678", "+90532123456", "+905321234567890")
EMAILS = ("kisi@example.com", "Kisi@Example.COM", "kişi@example.com", "a@b.c", "a@b.co",
          "no-at-sign", " kisi@example.com ", "kisi@example", "x" * 300 + "@example.com")


def reference(row: dict[str, str | None], index: int, now: datetime, *,
              state_only: bool = False) -> check.Checked:
    """``check_row`` without its fast paths: every row through ``parse_item`` and
    libphonenumber."""
    checked = check.check_row(row, index, now, state_only=state_only) if (
        row.get("recipient_type") == "TACIR" and (row.get("source") is None
                                                  or row.get("consent_date") is None)) \
        else None
    if checked is not None:   # the TACIR refusal comes before any parsing: not a fast path
        return checked
    recipient_type = check._value(row.get("recipient_type")) or "BIREYSEL"
    item: dict[str, object] = {"recipient_type": recipient_type}
    if row.get("recipient") is not None:
        item["recipient"] = row["recipient"]
    for name in ("type", "status", "source"):
        value = check._value(row.get(name))
        if value is not None:
            item[name] = value
    raw_date = row.get("consent_date")
    if raw_date is not None:
        moment = check.parse_date(raw_date)
        if moment is None:
            return check.check_row(row, index, now, state_only=state_only)  # H158, no parse
        item["consent_date"] = moment.isoformat()
    consent, errors = consents.parse_item(item, index, "", now, normalise=normalise_recipient,
                                          window=not state_only)
    if consent is None:
        code, reason = check._first(errors)
        return check.Checked(None, code, reason)
    return check.Checked(consent, deadline_at=check.calendar.deadline_for(consent.consent_date))


def rows() -> list[dict[str, str | None]]:
    out: list[dict[str, str | None]] = []
    for phone, type_ in itertools.product(PHONES, ("MESAJ", "arama", "SMS", "EPOSTA")):
        out.append({"recipient": phone, "type": type_, "status": "ONAY", "source": "HS_WEB",
                    "consent_date": RECENT})
    for email in EMAILS:
        out.append({"recipient": email, "type": "e-posta", "status": "onay",
                    "source": "HS_WEB", "consent_date": RECENT})
    good = {"recipient": "0532 123 45 67", "type": "MESAJ", "status": "ONAY",
            "source": "HS_WEB", "consent_date": RECENT}
    variants: list[dict[str, str | None]] = [
        {"recipient": None}, {"type": None}, {"type": "FAKS"}, {"status": "belki"},
        {"status": "red"}, {"source": "HS_2015"}, {"source": "HS_KARAR"},
        {"source": "HS_KARAR", "status": "RET"}, {"source": "WEB"}, {"source": None},
        {"consent_date": None}, {"consent_date": "yarın"}, {"consent_date": "31.02.2026"},
        {"consent_date": "01.01.2015 10:00"}, {"consent_date": "01.01.2020"},
        {"consent_date": (NOW + timedelta(days=2)).astimezone(TR).strftime("%d.%m.%Y %H:%M")},
        {"consent_date": (NOW - timedelta(minutes=5)).isoformat()},
        {"consent_date": "2026-13-01T00:00:00Z"}, {"recipient_type": "tacir"},
        {"recipient_type": "TACIR", "source": None}, {"recipient_type": "ŞİRKET"},
        {"recipient": "0532 123 45 67\x00"}, {"recipient": "\u202e05321234567"},
        {"recipient": "x" * 400},
    ]
    for change in variants:
        out.append({**good, **change})
    return out


@pytest.mark.parametrize("state_only", [False, True], ids=["sent", "state-only"])
def test_every_tricky_row_gets_the_answer_of_the_plain_check(state_only: bool) -> None:
    table = rows()
    valid = 0
    for index, row in enumerate(table, start=1):
        fast = check.check_row(row, index, NOW, state_only=state_only)
        plain = reference(row, index, NOW, state_only=state_only)
        assert (fast.consent, fast.code, fast.reason, fast.deadline_at) == (
            plain.consent, plain.code, plain.reason, plain.deadline_at), row
        valid += fast.consent is not None
    # the table holds both kinds in numbers: neither path is checked against nothing
    assert 40 < valid < len(table) - 80


def test_a_row_passed_by_the_fast_path_is_the_consent_parse_item_makes() -> None:
    row = {"recipient": "(0532) 123-45-67", "type": "sms", "status": "onay",
           "source": "HS_ISLAK_IMZA", "consent_date": RECENT}
    first, second = (check.check_row({**row, "recipient": r}, i, NOW)
                     for i, r in ((7, "(0532) 123-45-67"), (8, "0533 765 43 21")))
    assert first.consent is not None and second.consent is not None
    assert (first.consent.index, first.consent.recipient, first.consent.recipient_input) == (
        7, "+905321234567", "(0532) 123-45-67")
    assert (second.consent.index, second.consent.recipient) == (8, "+905337654321")
    assert first.consent.types == ("MESAJ",) and first.consent.source == "HS_ISLAK_IMZA"

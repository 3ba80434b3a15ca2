"""The pure rules: pre-validation, date planning, answer classification, back-off."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iys_push import calendar
from iys_push.client import Answer, first_error
from iys_push.events import ClaimedEvent
from iys_push.retry import RetryPolicy, View, classify, plan_consent_date, prevalidate

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def event(**overrides: Any) -> ClaimedEvent:
    base = {"id": 1, "brand_id": "acme", "iys_code": 1, "brand_code": 2,
            "recipient": "+905321234567", "recipient_type": "BIREYSEL", "type": "MESAJ",
            "status": "RET", "source": "HS_MESAJ", "received_at": NOW - timedelta(minutes=1),
            "consent_date": NOW - timedelta(minutes=1),
            "deadline_at": calendar.deadline_for(NOW - timedelta(minutes=1)), "attempts": 1}
    base.update(overrides)
    return ClaimedEvent(**base)


@pytest.mark.parametrize(("overrides", "code"), [
    ({}, None),
    ({"recipient": "+9005321234567"}, "LOCAL_RECIPIENT"),   # the +9005… pitfall
    ({"recipient": "905321234567"}, "LOCAL_RECIPIENT"),     # no +
    ({"recipient": "+902121234567"}, "LOCAL_RECIPIENT"),    # a fixed line cannot get SMS
    ({"recipient": "+902121234567", "type": "ARAMA"}, None),
    ({"recipient": "a@b.co", "type": "EPOSTA"}, None),
    ({"recipient": "+905321234567", "type": "EPOSTA"}, "LOCAL_RECIPIENT"),
    ({"source": "IYS_KISAMESAJ"}, "LOCAL_SOURCE"),          # only İYS sets IYS_*
    ({"source": "HS_KARAR", "status": "ONAY"}, "LOCAL_SOURCE"),
    ({"source": "HS_2015"}, "LOCAL_DATE"),
    ({"deadline_at": NOW - timedelta(seconds=1)}, "LOCAL_H467"),
    ({"consent_date": NOW - timedelta(days=8)}, "LOCAL_H467"),
])
def test_prevalidate_fails_what_iys_would_refuse_for_ever(overrides: dict[str, Any],
                                                          code: str | None) -> None:
    verdict = prevalidate(event(**overrides), NOW)
    assert (verdict.code if verdict else None) == code
    assert verdict is None or verdict.state == "failed"


T = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("received", "view", "planned"), [
    (T + timedelta(milliseconds=700), None, T),                              # to the second
    (T, View("ONAY", T - timedelta(seconds=5), "push"), T),
    (T + timedelta(milliseconds=500), View("ONAY", T, "push"), T + timedelta(seconds=1)),
    (T, View("RET", T + timedelta(seconds=1), "push"), T + timedelta(seconds=2)),
    (T, View("ONAY", None, "status"), T),
    (T, View("RET", T + timedelta(hours=1), "pull"), None),                 # the citizen's later
    (T + timedelta(hours=2), View("RET", T + timedelta(hours=1), "pull"), T + timedelta(hours=2)),
])
def test_consent_dates_increase_per_key_and_a_later_citizen_movement_wins(
    received: datetime, view: View | None, planned: datetime | None
) -> None:
    assert plan_consent_date(received, view) == planned


@pytest.mark.parametrize(("answer", "state", "code"), [
    (Answer(200, {"transactionId": "ab" * 32, "creationDate": "2026-11-23 13:00:00"}, None),
     "accepted", None),
    (Answer(200, {}, None), "retry", "NO_TRANSACTION_ID"),
    (Answer(None, None, None, "TimeoutError"), "retry", "HTTP-"),
    (Answer(500, None, "H103"), "retry", "H103"),
    (Answer(503, None, "H192"), "retry", "H192"),
    (Answer(429, None, "H124"), "retry", "H124"),
    (Answer(400, None, "H123"), "retry", "H123"),       # "service busy": retry-required
    (Answer(401, None, "H351"), "retry", "H351"),
    (Answer(400, None, "H174"), "not_needed", "H174"),  # already that status
    (Answer(400, None, "H175"), "not_needed", "H175"),  # no ONAY to withdraw
    (Answer(400, None, "H178"), "superseded", "H178"),  # İYS holds a newer movement
    (Answer(422, None, "H467"), "failed", "H467"),
    (Answer(422, None, "H121"), "failed", "H121"),
    (Answer(403, None, "H353"), "failed", "H353"),
    (Answer(404, "nope", None), "failed", "HTTP404"),
])
def test_answers_are_classified_retry_only_for_temporary_trouble(answer: Answer, state: str,
                                                                  code: str | None) -> None:
    verdict = classify(answer, "RET")
    assert (verdict.state, verdict.code) == (state, code)


def test_first_error_reads_every_error_shape_iys_uses() -> None:
    assert first_error({"errors": [{"code": "H175", "message": "m"}]}) == ("H175", "m")
    assert first_error({"errors": [{"code:": "H124", "message": "m"}]}) == ("H124", "m")
    assert first_error({"code": "H084", "message": "m"}) == ("H084", "m")
    assert first_error({"error": "invalid_grant", "error_description": "d"}) == (
        None, "invalid_grant: d")
    assert first_error("<html>") == (None, "")


def test_backoff_grows_with_jitter_up_to_a_cap() -> None:
    policy, rng = RetryPolicy(first=1, factor=2, cap=300), random.Random(7)
    for attempts, step in [(1, 1), (2, 2), (5, 16), (20, 300)]:
        delays = [policy.delay(attempts, rng) for _ in range(50)]
        assert all(step / 2 <= d <= step for d in delays) and len(set(delays)) > 1


def test_backoff_never_sleeps_through_a_near_deadline() -> None:
    policy = RetryPolicy(first=1, factor=2, cap=300)
    when = policy.next_attempt(20, NOW, NOW + timedelta(minutes=4), random.Random(1))
    assert when <= NOW + timedelta(minutes=1)


def test_batch_path_starts_above_one_second_of_the_request_budget() -> None:
    from iys_push.client import IysSettings

    assert IysSettings("http://x", "u", "p").batch_above == 8
    assert IysSettings("http://x", "u", "p", requests_per_second=2.5).batch_above == 2
    assert IysSettings("http://x", "u", "p", batch_threshold=50).batch_above == 50

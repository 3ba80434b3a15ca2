"""The one backoff (smpp_bind.backoff): every retrying loop waits with it."""

from __future__ import annotations

import random

from iys_push.retry import DEFAULT_POLICY, RetryPolicy
from smpp_bind import sender
from smpp_bind.backoff import Attempts, Backoff


def test_steps_double_up_to_the_cap_and_each_wait_is_jittered_within_its_step() -> None:
    backoff, rng = Backoff(first=0.5, cap=4.0), random.Random(3)
    assert [backoff.step(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for attempt in (1, 3, 9):
        waits = [backoff.delay(attempt, rng) for _ in range(40)]
        step = backoff.step(attempt)
        assert all(step / 2 <= w <= step for w in waits) and len(set(waits)) > 1


def test_attempts_count_failures_until_reset_and_longest_is_the_cap() -> None:
    attempts = Attempts(Backoff(first=1.0, cap=8.0), random.Random(1))
    waits = [attempts.next_delay() for _ in range(5)]
    assert all(s / 2 <= w <= s for w, s in zip(waits, [1, 2, 4, 8, 8], strict=True))
    assert attempts.longest() == 8.0 and attempts.failures == 6
    attempts.reset()
    assert 0.5 <= attempts.next_delay() <= 1.0


def test_the_push_side_and_the_smpp_side_share_the_one_backoff() -> None:
    # İYS retries, the pusher's failed rounds, throttled submit_sm and SMPP reconnects (the
    # link builds Attempts(Backoff(...)) from its settings) all use the same class
    assert isinstance(DEFAULT_POLICY, Backoff) and DEFAULT_POLICY.cap == 300.0
    assert RetryPolicy(first=2).step(3) == Backoff(first=2, cap=300).step(3) == 8
    assert isinstance(sender.THROTTLE_BACKOFF, Backoff) and sender.THROTTLE_BACKOFF.cap == 30

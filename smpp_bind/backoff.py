"""The one backoff: exponential steps with jitter and a cap (SMPP reconnects, throttled
submits, İYS retries, the pusher's failed rounds all wait with it).

It lives in ``smpp_bind`` because that package imports nothing else of ours: the other two
(``inbound``, ``iys_push``) may import it without a cycle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Attempt ``n`` (from 1) waits between half and all of ``first * factor**(n-1)``, at most
    ``cap``. The jitter spreads many clients' retries after a shared outage; the lower half
    keeps every wait at least half the step, so a retry storm cannot start at zero."""

    first: float = 1.0
    cap: float = 60.0
    factor: float = 2.0

    def step(self, attempt: int) -> float:
        """The longest wait before attempt ``attempt + 1`` (``attempt`` failures so far)."""
        return min(self.cap, self.first * self.factor ** max(0, attempt - 1))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        step = self.step(attempt)
        return (rng or random).uniform(step / 2, step)


class Attempts:
    """A loop's failures so far, for a loop that sleeps between tries (reset on success)."""

    def __init__(self, backoff: Backoff, rng: random.Random | None = None) -> None:
        self.backoff = backoff
        self.failures = 0
        self.rng = rng

    def next_delay(self) -> float:
        self.failures += 1
        return self.backoff.delay(self.failures, self.rng)

    def longest(self) -> float:
        """For a failure that will not go away soon (a wrong password): the cap."""
        self.failures += 1
        return self.backoff.cap

    def reset(self) -> None:
        self.failures = 0

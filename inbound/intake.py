"""How many MOs this process stores a second: the push side yields to the intake above a
rate (``iys_push.pusher.pause_after``)."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateMeter:
    """Events a second over the last whole second: two one-second buckets, O(1) a call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._second = 0        # the bucket now filling
        self._current = 0
        self._previous = 0      # the whole second before it

    def _roll(self) -> None:
        second = int(self._clock())
        if second != self._second:
            self._previous = self._current if second == self._second + 1 else 0
            self._current = 0
            self._second = second

    def add(self, count: int) -> None:
        self._roll()
        self._current += count

    def rate(self) -> float:
        """The last whole second's count; the current second's while it is already more
        (a wave is seen within its first second, not a second late)."""
        self._roll()
        return float(max(self._previous, self._current))

"""Failed sign-ins per client address: the limit beside the accounts' own lock-out.

``auth.MAX_FAILURES`` wrong passwords lock an account, which stops guessing one account's
password. It does nothing against one address trying a few common passwords on many
accounts (password spraying): each account stays under its own limit. So an address whose
sign-ins failed ``limit`` times within ``window`` seconds is refused (429) until the oldest
of those failures is ``window`` seconds old, whichever account it tries, before any password
is hashed.

Kept in the process's memory: each process of the service counts on its own (a limit per
process, not a global one; restarting forgets). Bounded: at most ``max_addresses``
addresses are remembered, the least recently failed are forgotten first. The address is
``request.remote``: behind a reverse proxy that is the proxy's, and its clients share one
count (``Forwarded`` headers are not trusted: anyone can send one); this is why the limit is
generous and counts only failures.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

ADDRESS_FAILURES = 30           # failed sign-ins from one address ...
ADDRESS_WINDOW = 600.0          # ... within this many seconds: refused for the rest of it
MAX_ADDRESSES = 10_000


class FailedSignIns:
    """Sliding-window count of failed sign-ins per address."""

    def __init__(self, limit: int = ADDRESS_FAILURES, window: float = ADDRESS_WINDOW,
                 max_addresses: int = MAX_ADDRESSES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def refused(self, address: str) -> bool:
        """Whether sign-ins from ``address`` are refused now."""
        times = self._failures.get(address)
        if times is None:
            return False
        self._forget_old(address, times)
        return len(times) >= self.limit

    def failed(self, address: str) -> None:
        """Note a failed sign-in (wrong password, unknown e-mail, locked account)."""
        times = self._failures.get(address)
        if times is None:
            # the ``limit`` latest are all that matter: the oldest of them says until when
            times = self._failures[address] = deque(maxlen=self.limit)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(address)
        times.append(self.clock())
        self._forget_old(address, times)

    def _forget_old(self, address: str, times: deque[float]) -> None:
        horizon = self.clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[address]

    def remembered(self) -> int:
        """How many addresses have failures within the window (no ``__len__``: an empty
        limiter must not be falsy)."""
        return len(self._failures)

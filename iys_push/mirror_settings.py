"""The İYS mirror's settings (the ``[mirror]`` table of the configuration): one default each."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MirrorSettings:
    # seconds between pull rounds (both sources, every brand); İYS hides the newest hour
    # from the feed whatever the interval
    pull_interval: float = 300.0
    # HTTP Basic credentials İYS uses on POST /iys/push/{brand}; without both, every request
    # is refused with 401 (the password from IYS_INBOUND_PUSH_PASSWORD or push_password_file)
    push_username: str = ""
    push_password: str = field(default="", repr=False)
    # requests a second the push endpoint takes from one address (a burst of up to twice)
    push_requests_per_second: float = 50.0
    # run the daily reconciliation in the background (every brand, yesterday and any day of
    # the last seven not matched yet), at most once per reconcile_every seconds per day
    reconcile_enabled: bool = True
    reconcile_every: float = 3600.0
    # a seeding run's share of the request budget (requests a second, and it waits while
    # the pusher has due events: seeding sits low in DESIGN.md's budget order)
    seed_requests_per_second: float = 2.0

    @property
    def push_configured(self) -> bool:
        return bool(self.push_username and self.push_password)

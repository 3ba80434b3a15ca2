"""The per-address limit of failed sign-ins (inbound.web.limits), on a clock of our own."""

from __future__ import annotations

from inbound.web.limits import FailedSignIns
from tests.fakeclock import Clock


def test_an_address_is_refused_at_the_limit_until_its_oldest_failure_is_a_window_old() -> None:
    clock = Clock()
    failures = FailedSignIns(limit=3, window=60, clock=clock)
    for _ in range(2):
        failures.failed("198.51.100.7")
        clock.now += 10
    assert not failures.refused("198.51.100.7")          # 2 failures: still allowed
    failures.failed("198.51.100.7")                        # at 1020: the third
    assert failures.refused("198.51.100.7")
    assert not failures.refused("203.0.113.9")            # other addresses are not concerned
    clock.now = 1059.9
    assert failures.refused("198.51.100.7")
    clock.now = 1060.0                                     # the first (at 1000) is a window old
    assert not failures.refused("198.51.100.7")
    clock.now = 1080.0                                     # all three are: nothing is kept
    assert not failures.refused("198.51.100.7") and failures.remembered() == 0


def test_at_most_max_addresses_are_remembered_the_least_recently_failed_go_first() -> None:
    clock = Clock()
    failures = FailedSignIns(limit=2, window=600, max_addresses=2, clock=clock)
    failures.failed("a")
    failures.failed("a")
    failures.failed("b")
    failures.failed("a")            # "a" failed last: "b" is now the least recent
    failures.failed("c")            # a third address: "b" is forgotten, "a" is kept
    assert failures.remembered() == 2
    assert failures.refused("a")
    failures.failed("b")
    assert not failures.refused("b")   # one failure counted, not two

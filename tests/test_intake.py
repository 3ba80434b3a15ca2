"""The MO intake meter the push side yields to (inbound/intake.py)."""

from inbound.intake import RateMeter
from tests.fakeclock import Clock


def test_the_rate_is_the_last_whole_second_or_the_current_one_when_more() -> None:
    clock = Clock(100.0)
    meter = RateMeter(clock)
    assert meter.rate() == 0
    meter.add(300)
    assert meter.rate() == 300          # a wave is seen within its first second
    clock.now = 101.2
    meter.add(50)
    assert meter.rate() == 300          # the last whole second
    clock.now = 102.0
    assert meter.rate() == 50
    clock.now = 104.5                   # seconds without MOs: nothing
    assert meter.rate() == 0

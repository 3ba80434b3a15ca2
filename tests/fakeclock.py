"""A clock the test moves by hand (``clock.now = …``), for code that takes a clock."""


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

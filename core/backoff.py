"""When to try again: exponential back-off with jitter, shared by the inbox and the outbox."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """`first` after the first failure, doubling up to `cap`; each delay is drawn from its
    upper half ("equal jitter"), so failures of many rows at once do not retry in step."""

    first: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)
    #: Tries in all (the first one included) before the work is given up.
    max_attempts: int = 8
    #: Never retried past this age, however few tries were made.
    give_up_after: timedelta = timedelta(hours=1)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int, *, at_least: timedelta | None = None) -> timedelta:
        """The wait after the `attempts`-th failed try (1 = the first); never shorter than
        `at_least`, the wait the peer asked for (a rate limit's Retry-After)."""
        ceiling: timedelta = min(self.first * 2 ** max(attempts - 1, 0), self.cap)
        half = ceiling / 2
        return max(half + half * self.rng.random(), at_least or timedelta(0))

    def exhausted(self, *, attempts: int, age: timedelta) -> bool:
        return attempts >= self.max_attempts or age >= self.give_up_after

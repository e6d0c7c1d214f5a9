"""Trends in a group's answers, as plain functions over values already read: the
7-day moving average of a daily mean, the week-over-week change, and text answers
(blockers) that repeat check-in after check-in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

#: Text answers that say nothing (a blocker of "none"): never a repeat, never shown.
EMPTY_ANSWERS = ("", "-", "no", "none", "nope", "nothing", "n/a", "na")
#: Check-ins in a row with the same blocker that make it a repeated one.
REPEAT_RUN = 3
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Tally:
    """The sum and number of one day's numeric answers."""

    total: float = 0.0
    answers: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.total + other.total, self.answers + other.answers)

    @property
    def mean(self) -> float | None:
        return self.total / self.answers if self.answers else None


def window(tallies: Mapping[date, Tally], *, last: date, days: int = 7) -> Tally:
    """All answers of the `days` days ending with `last` (both included)."""
    found = Tally()
    for offset in range(days):
        found += tallies.get(last - timedelta(days=offset), Tally())
    return found


def moving_averages(tallies: Mapping[date, Tally], days: Iterable[date]) -> dict[date, float]:
    """Each day's 7-day average (answers of that day and the six before), where any."""
    found = {day: window(tallies, last=day).mean for day in days}
    return {day: mean for day, mean in found.items() if mean is not None}


def week_over_week(tallies: Mapping[date, Tally], *, until: date) -> tuple[float, float] | None:
    """(the previous week's mean, the last week's mean), weeks ending at `until`;
    None when either week has no answer."""
    current = window(tallies, last=until).mean
    previous = window(tallies, last=until - WEEK).mean
    return None if current is None or previous is None else (previous, current)


def normalised(text: str | None) -> str | None:
    """An answer as compared for repeats: case-folded, spaces collapsed, a final full stop
    dropped; None for an answer that says nothing."""
    if text is None:
        return None
    flat = " ".join(text.casefold().split()).rstrip(".!")
    return None if flat in EMPTY_ANSWERS else flat


@dataclass(frozen=True, slots=True)
class Run:
    text: str
    length: int
    first: date
    last: date


def repeated_runs(answers: Sequence[tuple[date, str | None]]) -> list[Run]:
    """Runs of the same answer over REPEAT_RUN or more consecutive check-ins (`answers`:
    one member's completed check-ins, oldest first). An empty answer ends a run."""
    runs: list[Run] = []
    current: Run | None = None
    for day, text in answers:
        key = normalised(text)
        if current is not None and key == current.text:
            current = Run(current.text, current.length + 1, current.first, day)
            continue
        if current is not None and current.length >= REPEAT_RUN:
            runs.append(current)
        current = Run(key, 1, day, day) if key is not None else None
    if current is not None and current.length >= REPEAT_RUN:
        runs.append(current)
    return runs

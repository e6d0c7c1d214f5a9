"""The values core.insights returns about a group (a schedule's participants): frozen,
plain, and the same for the dashboard and the team digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class CellState(StrEnum):
    COMPLETED = "completed"
    MISSED = "missed"
    SKIPPED = "skipped"
    VACATION = "vacation"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Cell:
    member: str
    local_date: date
    state: CellState
    mood: float | None = None


@dataclass(frozen=True, slots=True)
class MemberRow:
    member_id: int
    member: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class DayMood:
    local_date: date
    average: float | None
    answers: int
    moving_average: float | None


@dataclass(frozen=True, slots=True)
class RepeatedBlocker:
    """Only for groups at the threshold; a smaller group gets an alert naming no one."""

    text: str
    member: str
    run_length: int
    last_date: date


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # "mood_drop" or "repeated_blocker"
    message: str


@dataclass(frozen=True, slots=True)
class SessionSummary:
    member: str
    local_date: date
    text: str


@dataclass(frozen=True, slots=True)
class GroupInsights:
    schedule_id: int
    agent_slug: str
    agent_name: str
    since: date
    until: date
    days: tuple[date, ...]
    group_size: int
    threshold: int
    #: False: `members`, `blockers` and `summaries` are empty (the group is too small).
    per_person_shown: bool
    members: tuple[MemberRow, ...]
    completed: int
    due: int
    mood_distribution: tuple[tuple[int, int], ...]
    daily_mood: tuple[DayMood, ...]
    blockers: tuple[RepeatedBlocker, ...]
    alerts: tuple[Alert, ...]
    summaries: tuple[SessionSummary, ...]

    @property
    def participation_rate(self) -> float | None:
        """Completed check-ins per due one (completed, missed or skipped; not away)."""
        return self.completed / self.due if self.due else None

    @property
    def mood_average(self) -> float | None:
        """The mean of every mood answer in the period."""
        answers = sum(day.answers for day in self.daily_mood)
        total = sum((day.average or 0.0) * day.answers for day in self.daily_mood)
        return total / answers if answers else None

    @property
    def hidden_note(self) -> str | None:
        """One line saying why per-person data is hidden, or None when it is shown."""
        if self.per_person_shown:
            return None
        return (
            f"Individual answers are hidden: this group has {self.group_size} "
            f"{'person' if self.group_size == 1 else 'people'}, fewer than {self.threshold}."
        )


@dataclass(frozen=True, slots=True)
class Checkin:
    """One check-in of the group as read: its outcome, mood, blocker and summary."""

    member_id: int
    local_date: date
    state: CellState
    summary: str | None
    mood: float | None = None
    blocker: str | None = None

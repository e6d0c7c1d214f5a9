"""The figures of a group's check-ins, from the rows core.insights read: the grid,
mood tallies and distribution, repeated blockers, alerts and summaries (plain
functions; what small groups may see is decided by the caller)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from core.group_view import (
    Alert,
    Cell,
    CellState,
    Checkin,
    DayMood,
    MemberRow,
    RepeatedBlocker,
    SessionSummary,
)
from core.store.models import Member
from core.trends import Run, Tally, moving_averages, repeated_runs, week_over_week

#: How many of the latest check-in summaries a group shows.
LATEST_SUMMARIES = 5


def days_of(
    weekdays: int, since: date, until: date, checkins: Sequence[Checkin]
) -> tuple[date, ...]:
    """The schedule's weekdays in the period, and any other day someone checked in."""
    used = {c.local_date for c in checkins}
    span = (since + timedelta(days=n) for n in range((until - since).days + 1))
    return tuple(day for day in span if weekdays >> day.weekday() & 1 or day in used)


def member_rows(
    members: Mapping[int, Member], days: Sequence[date], checkins: Sequence[Checkin]
) -> tuple[MemberRow, ...]:
    by_key = {(c.member_id, c.local_date): c for c in checkins}
    rows = []
    for member_id, member in members.items():
        cells = tuple(_cell(member, day, by_key.get((member_id, day))) for day in days)
        rows.append(MemberRow(member_id=member_id, member=member.display_name, cells=cells))
    return tuple(rows)


def _cell(member: Member, day: date, checkin: Checkin | None) -> Cell:
    if checkin is not None:
        return Cell(member.display_name, day, checkin.state, checkin.mood)
    away = any(until is not None and until >= day
               for until in (member.vacation_until, member.paused_until))  # fmt: skip
    return Cell(member.display_name, day, CellState.VACATION if away else CellState.NONE)


def mood_tallies(checkins: Sequence[Checkin]) -> dict[date, Tally]:
    tallies: defaultdict[date, Tally] = defaultdict(Tally)
    for c in checkins:
        if c.mood is not None:
            tallies[c.local_date] += Tally(c.mood, 1)
    return dict(tallies)


def daily_mood(tallies: Mapping[date, Tally], days: Sequence[date]) -> tuple[DayMood, ...]:
    moving = moving_averages(tallies, days)
    return tuple(
        DayMood(day, tallies.get(day, Tally()).mean, tallies.get(day, Tally()).answers,
                moving.get(day))
        for day in days
    )  # fmt: skip


def mood_distribution(checkins: Sequence[Checkin]) -> tuple[tuple[int, int], ...]:
    """How many mood answers were 1, 2, … 5 (rounded)."""
    counts = Counter(min(5, max(1, round(c.mood))) for c in checkins if c.mood is not None)
    return tuple((value, counts[value]) for value in range(1, 6))


def mood_alert(tallies: Mapping[date, Tally], until: date, drop: float) -> tuple[Alert, ...]:
    change = week_over_week(tallies, until=until)
    if change is None or change[0] - change[1] < drop - 1e-9:
        return ()
    previous, current = change
    return (Alert("mood_drop", f"Mood fell from {previous:.1f} to {current:.1f} week over "
                               f"week (alert at a drop of {drop:.1f})."),)  # fmt: skip


def blocker_runs(checkins: Sequence[Checkin], since: date) -> list[tuple[int, Run]]:
    """Each member's repeated blockers that last came up in the period."""
    answers: defaultdict[int, list[tuple[date, str | None]]] = defaultdict(list)
    for c in checkins:
        if c.state is CellState.COMPLETED:
            answers[c.member_id].append((c.local_date, c.blocker))
    return [
        (member_id, run)
        for member_id, said in answers.items()
        for run in repeated_runs(said)
        if run.last >= since
    ]


def repeated_blockers(
    runs: Sequence[tuple[int, Run]], names: Mapping[int, str]
) -> tuple[RepeatedBlocker, ...]:
    return tuple(
        RepeatedBlocker(run.text, names.get(member_id, "a former member"), run.length, run.last)
        for member_id, run in sorted(runs, key=lambda found: found[1].last, reverse=True)
    )


def blocker_alerts(
    runs: Sequence[tuple[int, Run]], names: Mapping[int, str], *, shown: bool, threshold: int
) -> tuple[Alert, ...]:
    if not shown:
        return tuple(
            Alert("repeated_blocker", f"A member has had the same blocker {run.length} "
                  f"check-ins in a row (details hidden in groups under {threshold}).")
            for _, run in runs
        )  # fmt: skip
    return tuple(
        Alert("repeated_blocker", f"{b.member}: “{b.text}” {b.run_length} check-ins in a row.")
        for b in repeated_blockers(runs, names)
    )


def latest_summaries(
    checkins: Sequence[Checkin], names: Mapping[int, str]
) -> tuple[SessionSummary, ...]:
    done = [c for c in checkins if c.summary and c.member_id in names]
    latest = sorted(done, key=lambda c: c.local_date, reverse=True)[:LATEST_SUMMARIES]
    return tuple(SessionSummary(names[c.member_id], c.local_date, c.summary or "") for c in latest)

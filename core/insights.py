"""What a group's check-ins say over a period: the dots grid, participation, mood trend,
repeated blockers, alerts and the latest summaries — within the anonymity threshold.

A group is a schedule's participants (everyone, a list, or a chat channel's members
resolved into schedule_participants: core.planning.participates). When the group has
fewer people than the org's `anonymity_threshold` (5 unless lowered by an audited,
confirmed setting) nothing per person is returned: no grid rows, no names, no text
answers, no summaries — only counts and averages, and alerts that name no one. A
repeated blocker in such a group is one alert saying that a member has one, without
its text (the text alone could say who). The dashboard and the team digest read this.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.scope import NotFound
from core.domain import SessionState
from core.planning import participates
from core.store.models import Agent, CheckinSession, Dot, Member, Organization, Schedule
from core.trends import WEEK, Run, Tally, moving_averages, repeated_runs, week_over_week

MOOD_KEY = "mood"
BLOCKER_KEY = "blockers"
#: How many of the latest check-in summaries a group shows.
LATEST_SUMMARIES = 5
#: Why a planned check-in was skipped when the member was away (core.eligibility).
_AWAY_NOTES = ("on vacation", "paused")
_MISSED = (SessionState.EXPIRED, SessionState.FAILED)


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
class _Checkin:
    member_id: int
    local_date: date
    state: CellState
    summary: str | None
    mood: float | None = None
    blocker: str | None = None


async def group_members(db: AsyncSession, *, schedule_id: int) -> dict[int, Member]:
    """The schedule's participants who can check in (active, not erased), by id."""
    query = (
        select(Member)
        .join(Schedule, Schedule.org_id == Member.org_id)
        .where(Schedule.id == schedule_id, Member.active.is_(True), Member.deleted_at.is_(None))
        .where(participates())
        .order_by(func.lower(Member.display_name), Member.id)
    )
    return {member.id: member for member in await db.scalars(query)}


async def group_insights(
    db: AsyncSession, *, org_id: int, schedule_id: int, since: date, until: date, now: datetime
) -> GroupInsights:
    """The group of schedule `schedule_id` (of org `org_id`; NotFound otherwise) over the
    member-local dates `since`..`until`, both included. Week-over-week and moving
    averages also read the 13 days before `until`. A check-in still open after its
    expiry at `now` counts as missed. Per-person fields are empty when the group is
    smaller than the org's anonymity threshold (see the module's docstring)."""
    schedule = await db.scalar(
        select(Schedule).where(Schedule.id == schedule_id, Schedule.org_id == org_id)
    )
    if schedule is None:
        raise NotFound(f"no schedule {schedule_id} in your organisation")
    org = await db.get_one(Organization, org_id)
    agent = await db.get_one(Agent, schedule.agent_id)
    members = await group_members(db, schedule_id=schedule_id)
    start = min(since, until - 2 * WEEK + timedelta(days=1))
    checkins = await _checkins(db, schedule, set(members), start, until, now)
    shown = len(members) >= org.anonymity_threshold
    days = _days(schedule.weekdays, since, until, checkins)
    in_range = [c for c in checkins if since <= c.local_date <= until]
    tallies = _mood_tallies(checkins)
    runs = _runs(checkins, since)
    names = {member_id: member.display_name for member_id, member in members.items()}
    return GroupInsights(
        schedule_id=schedule.id, agent_slug=agent.slug, agent_name=agent.name,
        since=since, until=until, days=days, group_size=len(members),
        threshold=org.anonymity_threshold, per_person_shown=shown,
        members=_rows(members, days, in_range) if shown else (),
        completed=sum(c.state is CellState.COMPLETED for c in in_range),
        due=sum(c.state in _DUE for c in in_range),
        mood_distribution=_distribution(in_range),
        daily_mood=_daily_mood(tallies, days),
        blockers=_blockers(runs, names) if shown else (),
        alerts=_mood_alert(tallies, until, org.mood_drop_alert)
        + _blocker_alerts(runs, names, shown=shown, threshold=org.anonymity_threshold),
        summaries=_summaries(in_range, names) if shown else (),
    )  # fmt: skip


_DUE = (CellState.COMPLETED, CellState.MISSED, CellState.SKIPPED)


async def _checkins(
    db: AsyncSession, schedule: Schedule, members: set[int], since: date, until: date,
    now: datetime,
) -> list[_Checkin]:  # fmt: skip
    """The group's sessions (the schedule's, and those started on demand with its agent
    by its members), oldest first, with their mood and blocker."""
    on_demand = (CheckinSession.schedule_id.is_(None)) & (
        CheckinSession.agent_id == schedule.agent_id
    ) & CheckinSession.member_id.in_(members)  # fmt: skip
    sessions = (await db.scalars(
        select(CheckinSession)
        .where(CheckinSession.org_id == schedule.org_id)
        .where((CheckinSession.schedule_id == schedule.id) | on_demand)
        .where(CheckinSession.local_date.between(since, until))
        .order_by(CheckinSession.local_date, CheckinSession.id)
    )).all()  # fmt: skip
    values = await _dot_values(db, [s.id for s in sessions])
    return [
        _Checkin(
            member_id=s.member_id, local_date=s.local_date, state=_state(s, now),
            summary=s.summary, mood=values.get((s.id, MOOD_KEY), (None, None))[0],
            blocker=values.get((s.id, BLOCKER_KEY), (None, None))[1],
        )
        for s in sessions
    ]  # fmt: skip


async def _dot_values(
    db: AsyncSession, session_ids: Sequence[int]
) -> dict[tuple[int, str], tuple[float | None, str | None]]:
    found: dict[tuple[int, str], tuple[float | None, str | None]] = {}
    for start in range(0, len(session_ids), 500):
        rows = await db.execute(
            select(Dot.session_id, Dot.key, Dot.num_value, Dot.text_value)
            .where(Dot.session_id.in_(session_ids[start : start + 500]))
            .where(Dot.key.in_((MOOD_KEY, BLOCKER_KEY)))
        )
        found.update({(sid, key): (num, text) for sid, key, num, text in rows})
    return found


def _state(session: CheckinSession, now: datetime) -> CellState:
    state = SessionState(session.state)
    if state is SessionState.COMPLETED:
        return CellState.COMPLETED
    if state is SessionState.SKIPPED:
        away = (session.outcome_note or "") in _AWAY_NOTES
        return CellState.VACATION if away else CellState.SKIPPED
    if state in _MISSED or session.expires_at <= now:
        return CellState.MISSED
    return CellState.NONE


def _days(
    weekdays: int, since: date, until: date, checkins: Sequence[_Checkin]
) -> tuple[date, ...]:
    """The schedule's weekdays in the period, and any other day someone checked in."""
    used = {c.local_date for c in checkins}
    span = (since + timedelta(days=n) for n in range((until - since).days + 1))
    return tuple(day for day in span if weekdays >> day.weekday() & 1 or day in used)


def _rows(
    members: Mapping[int, Member], days: Sequence[date], checkins: Sequence[_Checkin]
) -> tuple[MemberRow, ...]:
    by_key = {(c.member_id, c.local_date): c for c in checkins}
    rows = []
    for member_id, member in members.items():
        cells = tuple(_cell(member, day, by_key.get((member_id, day))) for day in days)
        rows.append(MemberRow(member_id=member_id, member=member.display_name, cells=cells))
    return tuple(rows)


def _cell(member: Member, day: date, checkin: _Checkin | None) -> Cell:
    if checkin is not None:
        return Cell(member.display_name, day, checkin.state, checkin.mood)
    away = any(until is not None and until >= day
               for until in (member.vacation_until, member.paused_until))  # fmt: skip
    return Cell(member.display_name, day, CellState.VACATION if away else CellState.NONE)


def _mood_tallies(checkins: Sequence[_Checkin]) -> dict[date, Tally]:
    tallies: defaultdict[date, Tally] = defaultdict(Tally)
    for c in checkins:
        if c.mood is not None:
            tallies[c.local_date] += Tally(c.mood, 1)
    return dict(tallies)


def _daily_mood(tallies: Mapping[date, Tally], days: Sequence[date]) -> tuple[DayMood, ...]:
    moving = moving_averages(tallies, days)
    return tuple(
        DayMood(day, tallies.get(day, Tally()).mean, tallies.get(day, Tally()).answers,
                moving.get(day))
        for day in days
    )  # fmt: skip


def _distribution(checkins: Sequence[_Checkin]) -> tuple[tuple[int, int], ...]:
    """How many mood answers were 1, 2, … 5 (rounded)."""
    counts = Counter(min(5, max(1, round(c.mood))) for c in checkins if c.mood is not None)
    return tuple((value, counts[value]) for value in range(1, 6))


def _mood_alert(tallies: Mapping[date, Tally], until: date, drop: float) -> tuple[Alert, ...]:
    change = week_over_week(tallies, until=until)
    if change is None or change[0] - change[1] < drop - 1e-9:
        return ()
    previous, current = change
    return (Alert("mood_drop", f"Mood fell from {previous:.1f} to {current:.1f} week over "
                               f"week (alert at a drop of {drop:.1f})."),)  # fmt: skip


def _runs(checkins: Sequence[_Checkin], since: date) -> list[tuple[int, Run]]:
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


def _blockers(
    runs: Sequence[tuple[int, Run]], names: Mapping[int, str]
) -> tuple[RepeatedBlocker, ...]:
    return tuple(
        RepeatedBlocker(run.text, names.get(member_id, "a former member"), run.length, run.last)
        for member_id, run in sorted(runs, key=lambda found: found[1].last, reverse=True)
    )


def _blocker_alerts(
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
        for b in _blockers(runs, names)
    )


def _summaries(
    checkins: Sequence[_Checkin], names: Mapping[int, str]
) -> tuple[SessionSummary, ...]:
    done = [c for c in checkins if c.summary and c.member_id in names]
    latest = sorted(done, key=lambda c: c.local_date, reverse=True)[:LATEST_SUMMARIES]
    return tuple(SessionSummary(names[c.member_id], c.local_date, c.summary or "") for c in latest)


async def org_groups(db: AsyncSession, *, org_id: int) -> list[tuple[int, str, str]]:
    """The org's schedules as groups: (schedule id, agent slug, agent name), by slug."""
    rows = await db.execute(
        select(Schedule.id, Agent.slug, Agent.name)
        .join(Agent, Agent.id == Schedule.agent_id)
        .where(Schedule.org_id == org_id)
        .order_by(Agent.slug)
    )
    return [(schedule_id, slug, name) for schedule_id, slug, name in rows]

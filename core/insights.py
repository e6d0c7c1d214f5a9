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

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.scope import NotFound
from core.domain import SessionState
from core.group_figures import (
    blocker_alerts,
    blocker_runs,
    daily_mood,
    days_of,
    latest_summaries,
    member_rows,
    mood_alert,
    mood_distribution,
    mood_tallies,
    repeated_blockers,
)
from core.group_view import (
    Alert,
    Cell,
    CellState,
    Checkin,
    DayMood,
    GroupInsights,
    MemberRow,
    RepeatedBlocker,
    SessionSummary,
)
from core.planning import participates
from core.store.models import Agent, CheckinSession, Dot, Member, Organization, Schedule
from core.trends import WEEK

__all__ = [
    "Alert", "Cell", "CellState", "DayMood", "GroupInsights", "MemberRow", "RepeatedBlocker",
    "SessionSummary", "group_insights", "group_members", "org_groups",
]  # fmt: skip

MOOD_KEY = "mood"
BLOCKER_KEY = "blockers"
#: Why a planned check-in was skipped when the member was away (core.eligibility).
_AWAY_NOTES = ("on vacation", "paused")
_MISSED = (SessionState.EXPIRED, SessionState.FAILED)


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
    days = days_of(schedule.weekdays, since, until, checkins)
    in_range = [c for c in checkins if since <= c.local_date <= until]
    tallies = mood_tallies(checkins)
    runs = blocker_runs(checkins, since)
    names = {member_id: member.display_name for member_id, member in members.items()}
    return GroupInsights(
        schedule_id=schedule.id, agent_slug=agent.slug, agent_name=agent.name,
        since=since, until=until, days=days, group_size=len(members),
        threshold=org.anonymity_threshold, per_person_shown=shown,
        members=member_rows(members, days, in_range) if shown else (),
        completed=sum(c.state is CellState.COMPLETED for c in in_range),
        due=sum(c.state in _DUE for c in in_range),
        mood_distribution=mood_distribution(in_range),
        daily_mood=daily_mood(tallies, days),
        blockers=repeated_blockers(runs, names) if shown else (),
        alerts=mood_alert(tallies, until, org.mood_drop_alert)
        + blocker_alerts(runs, names, shown=shown, threshold=org.anonymity_threshold),
        summaries=latest_summaries(in_range, names) if shown else (),
    )  # fmt: skip


_DUE = (CellState.COMPLETED, CellState.MISSED, CellState.SKIPPED)


async def _checkins(
    db: AsyncSession, schedule: Schedule, members: set[int], since: date, until: date,
    now: datetime,
) -> list[Checkin]:  # fmt: skip
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
        Checkin(
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


async def org_groups(db: AsyncSession, *, org_id: int) -> list[tuple[int, str, str]]:
    """The org's schedules as groups: (schedule id, agent slug, agent name), by slug."""
    rows = await db.execute(
        select(Schedule.id, Agent.slug, Agent.name)
        .join(Agent, Agent.id == Schedule.agent_id)
        .where(Schedule.org_id == org_id)
        .order_by(Agent.slug)
    )
    return [(schedule_id, slug, name) for schedule_id, slug, name in rows]

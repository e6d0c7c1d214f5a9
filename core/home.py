"""What a member sees about their own check-ins (a Slack App Home, a Teams tab…).

Channel-agnostic: adapters render a MemberHome in their own way. The next check-in
is the earliest of a session already planned and one the member's schedules will
plan (planning only looks a day or so ahead), skipping vacation, pauses, the member's
public holidays and dates already decided (a skipped or finished session is not
planned again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import ParticipantsKind, SessionState
from core.i18n import DEFAULT_LANGUAGE, current_language, member_language, speaking
from core.members import zone_or_default
from core.plan_policy import delivers
from core.public_holidays import effective_region, holiday_name
from core.schedule_time import Slot, candidate_slots
from core.store.models import (
    Agent,
    CheckinSession,
    Dot,
    Member,
    Organization,
    Schedule,
    ScheduleParticipant,
)

#: How many past check-ins a home shows.
RECENT = 5
#: How far ahead the next check-in is looked for (a weekly schedule's next date).
LOOK_AHEAD = timedelta(days=8)
_NO_GRACE = timedelta(0)
_PENDING = (SessionState.SCHEDULED.value, SessionState.DELIVERING.value)
_REACHED = tuple(s.value for s in (SessionState.DELIVERED, SessionState.IN_PROGRESS))


@dataclass(frozen=True, slots=True)
class NextCheckin:
    agent: str
    due_at: datetime
    #: The member's local weekday and time in the current language, like "Mon 09:00"
    #: ("Mo. 09:00" in German).
    local: str


@dataclass(frozen=True, slots=True)
class RecentCheckin:
    agent: str
    local_date: date
    state: SessionState
    summary: str | None
    #: (key, value): numbers as float, text as str, in the order they were recorded.
    dots: tuple[tuple[str, float | str], ...]


@dataclass(frozen=True, slots=True)
class MemberHome:
    display_name: str
    timezone: str
    next_checkin: NextCheckin | None
    recent: tuple[RecentCheckin, ...]
    email_reminders: bool
    vacation_until: date | None
    preferred_time: time | None
    #: The language to show the home in: the member's own, else the org's.
    language: str = DEFAULT_LANGUAGE


async def member_home(db: AsyncSession, *, member_id: int, now: datetime) -> MemberHome:
    """The member's home as of `now` (UTC), in their language; LookupError when there is
    no such member."""
    member = await db.get(Member, member_id)
    if member is None:
        raise LookupError(f"no member {member_id}")
    org = await db.get_one(Organization, member.org_id)
    with speaking(member_language(member.language, org.language)) as language:
        upcoming = await next_checkin(db, member, now)
    return MemberHome(
        display_name=member.display_name,
        timezone=member.timezone,
        next_checkin=upcoming,
        recent=await _recent(db, member.id),
        email_reminders=not member.email_opt_out,
        vacation_until=member.vacation_until,
        preferred_time=member.preferred_time,
        language=language,
    )


async def next_checkin(db: AsyncSession, member: Member, now: datetime) -> NextCheckin | None:
    """The member's next check-in after `now`, planned or to be planned; None if none."""
    if not member.active or not await _org_delivers(db, member.org_id, now):
        return None
    candidates = (await _planned(db, member, now), await _upcoming(db, member, now))
    found = [candidate for candidate in candidates if candidate is not None]
    if not found:
        return None
    due, agent = min(found)
    zone = zone_or_default(member.timezone)
    local = format_datetime(due, "EEE HH:mm", tzinfo=zone, locale=current_language())
    return NextCheckin(agent=agent, due_at=due, local=local)


async def _org_delivers(db: AsyncSession, org_id: int, now: datetime) -> bool:
    return delivers(await db.get_one(Organization, org_id), now)


async def _planned(db: AsyncSession, member: Member, now: datetime) -> tuple[datetime, str] | None:
    query = (
        select(CheckinSession.due_at, Agent.name)
        .join(Agent, Agent.id == CheckinSession.agent_id)
        .where(CheckinSession.member_id == member.id, CheckinSession.state.in_(_PENDING))
        .where(CheckinSession.expires_at > now)
        .order_by(CheckinSession.due_at)
        .limit(1)
    )
    row = (await db.execute(query)).first()
    return (row[0], row[1]) if row else None


async def _upcoming(db: AsyncSession, member: Member, now: datetime) -> tuple[datetime, str] | None:
    """The first slot of the member's schedules after `now` that no session covers yet (a
    schedule's own session, or one the member started on demand with its agent that day)."""
    zone = zone_or_default(member.timezone)
    region = effective_region(await db.get_one(Organization, member.org_id), member)
    decided = await _decided_dates(db, member.id, since=now.date() - timedelta(days=2))
    slots = [
        (slot.due_at, agent)
        for schedule, agent in await _schedules(db, member)
        for slot in _open_slots(schedule, member, zone, now, region)
        if not decided
        & {(schedule.id, None, slot.local_date), (None, schedule.agent_id, slot.local_date)}
    ]
    return min(slots, default=None)


def _open_slots(
    schedule: Schedule, member: Member, zone: ZoneInfo, now: datetime, region: str | None
) -> list[Slot]:
    at = member.preferred_time or schedule.local_time
    slots = candidate_slots(
        weekdays=schedule.weekdays, at=at, zone=zone, now=now, horizon=LOOK_AHEAD, grace=_NO_GRACE
    )
    return [slot for slot in slots if slot.due_at > now and _free(member, region, slot.local_date)]


def _free(member: Member, region: str | None, local_date: date) -> bool:
    """Not on vacation nor paused that day (both cover their last day), nor a public
    holiday of the member's region."""
    away = any(
        until is not None and until >= local_date
        for until in (member.vacation_until, member.paused_until)
    )
    return not away and holiday_name(region, local_date) is None


async def _schedules(db: AsyncSession, member: Member) -> list[tuple[Schedule, str]]:
    listed = select(ScheduleParticipant.schedule_id).where(
        ScheduleParticipant.member_id == member.id
    )
    query = (
        select(Schedule, Agent.slug, Agent.name, Organization.disabled_agents)
        .join(Agent, Agent.id == Schedule.agent_id)
        .join(Organization, Organization.id == Schedule.org_id)
        .where(Schedule.org_id == member.org_id, Schedule.active == true())
        .where(
            or_(
                Schedule.participants == ParticipantsKind.EVERYONE.value,
                Schedule.id.in_(listed),
            )
        )
        .order_by(Schedule.id)
    )
    return [
        (schedule, name)
        for schedule, slug, name, disabled in (await db.execute(query)).all()
        if slug not in (disabled or ())
    ]


async def _decided_dates(
    db: AsyncSession, member_id: int, *, since: date
) -> set[tuple[int | None, int | None, date]]:
    """(schedule, None, date) for each planned session; (None, agent, date) on demand."""
    query = select(
        CheckinSession.schedule_id, CheckinSession.agent_id, CheckinSession.local_date
    ).where(CheckinSession.member_id == member_id, CheckinSession.local_date >= since)
    return {
        (schedule_id, None, day) if schedule_id is not None else (None, agent_id, day)
        for schedule_id, agent_id, day in await db.execute(query)
    }


async def _recent(db: AsyncSession, member_id: int) -> tuple[RecentCheckin, ...]:
    """The last check-ins that reached the member (delivered, whatever came of them)."""
    query = (
        select(CheckinSession, Agent.name)
        .join(Agent, Agent.id == CheckinSession.agent_id)
        .where(CheckinSession.member_id == member_id)
        .where(
            or_(
                CheckinSession.delivered_at.is_not(None),
                CheckinSession.state.in_((*_REACHED, SessionState.COMPLETED.value)),
            )
        )
        .order_by(CheckinSession.local_date.desc(), CheckinSession.id.desc())
        .limit(RECENT)
    )
    rows = (await db.execute(query)).all()
    dots = await _dots(db, [session.id for session, _ in rows])
    return tuple(
        RecentCheckin(
            agent=name,
            local_date=session.local_date,
            state=SessionState(session.state),
            summary=session.summary,
            dots=tuple(dots.get(session.id, ())),
        )
        for session, name in rows
    )


async def _dots(
    db: AsyncSession, session_ids: list[int]
) -> dict[int, list[tuple[str, float | str]]]:
    found: dict[int, list[tuple[str, float | str]]] = {}
    if not session_ids:
        return found
    query = select(Dot).where(Dot.session_id.in_(session_ids)).order_by(Dot.id)
    for dot in await db.scalars(query):
        value: float | str | None = (
            float(dot.num_value) if dot.num_value is not None else dot.text_value
        )
        if value is not None:
            found.setdefault(dot.session_id, []).append((dot.key, value))
    return found

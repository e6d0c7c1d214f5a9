"""When reminders go out (REMINDER_SLOTS on REMINDER_WEEKDAYS, UTC) and which sessions a
run looks at for a slot (pure rules and one query; no sending)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select

from core.domain import Provider, SessionState
from core.store.models import (
    Agent,
    CheckinSession,
    EmailLog,
    EmailSuppression,
    Member,
    Organization,
    Schedule,
)

#: email_logs.kind of the email that is a check-in itself (a member no chat reaches) and
#: of a reminder; the check-in's email has one fixed slot (one per session).
CHECKIN = "checkin"
REMINDER = "reminder"
CHECKIN_SLOT = "delivery"
OPEN = (SessionState.DELIVERED.value, SessionState.IN_PROGRESS.value)


@dataclass(frozen=True, slots=True)
class ReminderSlots:
    """Times of day (UTC) on weekdays (Monday = 0) when reminders go out."""

    times: tuple[time, ...] = (time(9), time(14))
    weekdays: frozenset[int] = frozenset(range(5))

    def latest(self, now: datetime) -> datetime | None:
        """The slot a run at `now` works on: the latest at or before `now` on the same UTC
        day, when that day is a reminder weekday (a run at 09:05 works on 09:00)."""
        day = now.astimezone(UTC)
        if day.weekday() not in self.weekdays:
            return None
        starts = [datetime.combine(day.date(), t, tzinfo=UTC) for t in self.times]
        passed = [at for at in starts if at <= day]
        return max(passed, default=None)


def slot_key(at: datetime) -> str:
    """email_logs.slot of a reminder slot: `2026-11-25T09:00Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True, slots=True)
class SlotWindow:
    """A run's view of time: the slot (if any) and how long a session must have been
    delivered, or nudged, before that slot for the slot to concern it."""

    now: datetime
    slot_at: datetime | None
    min_wait: timedelta

    @property
    def key(self) -> str | None:
        return slot_key(self.slot_at) if self.slot_at else None

    def ripe(self, at: datetime | None) -> bool:
        """Whether something done at `at` (a delivery, a nudge) is old enough for the slot."""
        return self.slot_at is not None and at is not None and at <= self.slot_at - self.min_wait


def candidates(
    window: SlotWindow, *, after: int, batch: int
) -> Select[CheckinSession, Member, Organization, Agent, bool, bool]:
    """Open sessions a run may remind, by id after `after`, with what deciding needs:
    the member, the org, the agent, whether the schedule is active, whether the address
    is suppressed. Excluded in SQL: sessions answered since their first reminder, those
    this slot already emailed or nudged, and (outside a slot) all but the email-only
    sessions whose check-in has not been emailed yet."""
    s, m = CheckinSession, Member
    silent = or_(s.reminded_version.is_(None), s.reminded_version == s.version)
    emailed = exists().where(EmailLog.session_id == s.id)
    checkin_due = and_(or_(s.channel == Provider.EMAIL.value, m.email_only.is_(True)), ~emailed)
    wanted = checkin_due
    if window.slot_at is not None:
        ready = window.slot_at - window.min_wait
        this_slot = exists().where(
            EmailLog.session_id == s.id, EmailLog.kind == REMINDER, EmailLog.slot == window.key
        )
        at_slot = and_(
            s.delivered_at <= ready,
            or_(s.nudged_at.is_(None), s.nudged_at <= ready),
            ~this_slot,
        )
        wanted = or_(at_slot, checkin_due)
    suppressed = exists().where(EmailSuppression.address == func.lower(m.email))
    return (
        select(s, m, Organization, Agent, Schedule.active, suppressed.label("suppressed"))
        .join(m, m.id == s.member_id)
        .join(Organization, Organization.id == s.org_id)
        .join(Agent, Agent.id == s.agent_id)
        .outerjoin(Schedule, Schedule.id == s.schedule_id)
        .where(
            s.state.in_(OPEN),
            s.expires_at > window.now,
            s.delivered_at.is_not(None),
            s.id > after,
            silent,
            wanted,
        )
        .order_by(s.id)
        .limit(batch)
    )


def parse_slots(text: str) -> tuple[time, ...]:
    """`09:00,14:00` → the times, sorted."""
    return tuple(sorted(time.fromisoformat(part.strip()) for part in text.split(",") if part))

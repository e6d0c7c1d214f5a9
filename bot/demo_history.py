"""A month of past check-ins for the demo team, so the dashboard has a full grid.

Dates come from the clock, each in the member's own zone: the 30 days before their
today, on the schedule's weekdays. Idempotent: a day that already has a check-in of the
daily agent (planned, started on demand, or seeded before) is left alone. The answers
are drawn from a generator seeded with the member and the day, so every run makes the
same ones. One member keeps naming the same blocker (a repeated-blocker alert on the
dashboard), one was on vacation for a few days. History rows carry no delivered_at: the
dev chat lists only check-ins that were really delivered."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import SessionState
from core.store.models import CheckinSession, Dot, Member, Schedule

HISTORY_DAYS = 30
FOCUSES = ("PR reviews", "the billing page", "customer calls", "sprint planning", "bug fixes")
#: Now and then a blocker, a different one from one day to the next.
BLOCKERS = ("slow CI", "unclear requirements", "flaky tests", "too many meetings")
#: (member email, what they keep saying) in their last three check-ins.
STUCK = ("chitra@demo.vizdots.dev", "waiting on the staging environment")
#: (member email, days ago the vacation started, days ago it ended).
AWAY = ("dan@demo.vizdots.dev", 9, 6)


async def seed_history(
    db: AsyncSession, *, schedule: Schedule, members: Sequence[Member], now: datetime
) -> int:
    """Add the missing past check-ins; return how many."""
    rows = await db.execute(
        select(CheckinSession.member_id, CheckinSession.local_date).where(
            CheckinSession.org_id == schedule.org_id, CheckinSession.agent_id == schedule.agent_id
        )
    )
    taken = {(member_id, day) for member_id, day in rows}
    added = 0
    for mood_base, member in enumerate(members):
        today = now.astimezone(ZoneInfo(member.timezone)).date()
        for back in range(HISTORY_DAYS, 0, -1):
            day = today - timedelta(days=back)
            if schedule.weekdays >> day.weekday() & 1 and (member.id, day) not in taken:
                await _check_in(db, schedule, member, day, back, 3 + mood_base % 2)
                added += 1
    return added


async def _check_in(
    db: AsyncSession, schedule: Schedule, member: Member, day: date, back: int, base: int
) -> None:
    draw = random.Random(f"{member.email}/{day.isoformat()}")
    state, note = _outcome(member, back, draw)
    due = datetime.combine(day, time(9), tzinfo=ZoneInfo(member.timezone)).astimezone(UTC)
    done = state is SessionState.COMPLETED
    mood = max(1, min(5, base + draw.choice((-1, 0, 0, 1))))
    focus = draw.choice(FOCUSES)
    blocker = BLOCKERS[day.toordinal() % len(BLOCKERS)] if draw.random() < 0.25 else "none"
    blocker = STUCK[1] if member.email == STUCK[0] and back <= 5 else blocker
    session = CheckinSession(
        org_id=schedule.org_id, schedule_id=schedule.id, member_id=member.id,
        agent_id=schedule.agent_id, local_date=day, due_at=due,
        expires_at=due + timedelta(hours=15), state=state.value, outcome_note=note,
        completed_at=due + timedelta(minutes=draw.randint(2, 90)) if done else None,
        summary=_summary(member, mood, focus, blocker) if done else None,
    )  # fmt: skip
    db.add(session)
    if not done:
        return
    await db.flush()
    for key, num, text in (("mood", float(mood), None), ("focus", None, focus),
                           ("blockers", None, blocker)):  # fmt: skip
        db.add(Dot(session_id=session.id, org_id=schedule.org_id, member_id=member.id,
                   key=key, num_value=num, text_value=text))  # fmt: skip


def _outcome(member: Member, back: int, draw: random.Random) -> tuple[SessionState, str | None]:
    if member.email == AWAY[0] and AWAY[2] <= back <= AWAY[1]:
        return SessionState.SKIPPED, "on vacation"
    if member.email == STUCK[0] and back <= 5:
        return SessionState.COMPLETED, None
    roll = draw.random()
    if roll < 0.08:
        return SessionState.EXPIRED, None
    if roll < 0.14:
        return SessionState.SKIPPED, "skipped by member"
    return SessionState.COMPLETED, None


def _summary(member: Member, mood: int, focus: str, blocker: str) -> str:
    first = member.display_name.split()[0]
    blocked = "" if blocker == "none" else f"; blocked by {blocker}"
    return f"{first} feels {mood}/5 and is on {focus}{blocked}."

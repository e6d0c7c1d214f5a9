"""Builders for the rows a test needs: an org, its members, a schedule, a due session."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.store.models import Agent, CheckinSession, Member, Organization, OutboxMessage, Schedule
from tests.fakes.http_server import eventually


async def add_org(db: AsyncSession, slug: str = "acme", **values: object) -> Organization:
    org = Organization(slug=slug, name=slug.title(), **values)
    db.add(org)
    await db.flush()
    return org


async def add_member(
    db: AsyncSession, org: Organization, email: str, *, role: str = "member", **values: object
) -> Member:
    name = email.split("@")[0].title()
    member = Member(org_id=org.id, display_name=name, email=email, role=role, **values)
    db.add(member)
    await db.flush()
    return member


async def agent_id(db: AsyncSession, slug: str = "daily") -> int:
    found = await db.scalar(select(Agent.id).where(Agent.slug == slug, Agent.org_id.is_(None)))
    assert found is not None
    return found


async def add_schedule(
    db: AsyncSession, org: Organization, slug: str = "daily", **values: object
) -> Schedule:
    values = {"weekdays": 0b1111111, "local_time": time(9), **values}
    schedule = Schedule(org_id=org.id, agent_id=await agent_id(db, slug), **values)
    db.add(schedule)
    await db.flush()
    return schedule


async def add_due_session(
    sessions: async_sessionmaker[AsyncSession], member_email: str, *, due: datetime
) -> int:
    """A scheduled daily check-in for the member, due at `due`, open until a day later."""
    async with sessions.begin() as db:
        member = await db.scalar(select(Member).where(Member.email == member_email))
        assert member is not None
        schedule = await db.scalar(select(Schedule).where(Schedule.org_id == member.org_id))
        if schedule is None:
            org = await db.get_one(Organization, member.org_id)
            schedule = await add_schedule(db, org)
        session = CheckinSession(
            org_id=member.org_id,
            schedule_id=schedule.id,
            member_id=member.id,
            agent_id=schedule.agent_id,
            local_date=date(due.year, due.month, due.day),
            due_at=due,
            expires_at=due + timedelta(days=1),
        )
        db.add(session)
    return session.id


async def outbox_settled(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Wait until no outbox message is being sent: an app's own sender loop may have
    claimed one before the test's call did, and be sending it still."""

    async def none_in_flight() -> bool:
        async with sessions() as db:
            sending = select(func.count()).where(OutboxMessage.status == "sending")
            return await db.scalar(sending) == 0

    await eventually(none_in_flight)


async def first_session(sessions: async_sessionmaker[AsyncSession], *member: Any) -> CheckinSession:
    """The earliest-due check-in of the member matching `member` (a Member column test)."""
    async with sessions() as db:
        session = await db.scalar(
            select(CheckinSession)
            .join(Member, Member.id == CheckinSession.member_id)
            .where(*member)
            .order_by(CheckinSession.due_at)
            .limit(1)
        )
    assert session is not None
    return session

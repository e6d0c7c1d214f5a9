"""The commands around digests: `schedule set` given in a channel makes it the report
channel (an existing schedule's too), and `report` shows each group's digest on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.commands.service import run_command
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.store.engine import make_sessionmaker
from core.store.models import AuditEntry, Schedule
from tests.fakes.clock import FakeClock
from tests.fakes.digest_world import DAY, Team

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
OWNER, MEMBER = "p0@acme.example", "p1@acme.example"


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


async def say(
    sessions: async_sessionmaker[AsyncSession], who: str, text: str, *, channel: str | None
) -> str:
    request = CommandRequest(sender=Sender(Provider.DEV, "acme", who), text=text,
                             channel_id=channel)  # fmt: skip
    reply = await run_command(
        sessions=sessions, request=request, directory=None, clock=FakeClock(NOW)
    )
    return reply.text


async def report_channel(team: Team) -> str | None:
    async with team.sessions() as db:
        return await db.scalar(
            select(Schedule.report_channel).where(Schedule.org_id == team.org_id)
        )


async def test_schedule_set_in_another_channel_moves_the_report_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=2, report_channel="C0OLD")
    await say(sessions, OWNER, "schedule set daily mon-fri 09:30", channel="C0NEW")
    assert await report_channel(team) == "C0NEW"
    async with sessions() as db:
        (entry,) = await db.scalars(select(AuditEntry).where(AuditEntry.org_id == team.org_id))
    assert (entry.action, entry.detail["report_channel"]) == ("schedule.set", "C0NEW")


async def test_schedule_set_without_a_channel_keeps_the_report_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=2, report_channel="C0OLD")
    await say(sessions, OWNER, "schedule set daily mon-fri 09:30", channel=None)
    assert await report_channel(team) == "C0OLD"


async def test_report_shows_the_groups_digest_for_the_period(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=5)
    for person, mood in enumerate([5.0, 4.0, 4.0, 3.0]):
        await team.checkin(person, mood=mood, blocker="CI is red")
    for days_ago in (1, 2):
        await team.checkin(0, on=DAY - timedelta(days=days_ago), mood=4.0, blocker="CI is red")
    await team.checkin(4, state="skipped")
    reply = await say(sessions, OWNER, "report daily", channel=None)
    assert "**Daily check-in digest, 2026-11-20 to 2026-11-26**" in reply
    assert "Participation: 6 of 7 check-ins (86%)" in reply
    assert "Mood: average 4.0 (5: 1, 4: 4, 3: 1)" in reply
    assert "- Person 0: ci is red (3 check-ins in a row)" in reply


async def test_report_shows_a_small_groups_participation_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=2)
    await team.checkin(0, mood=5.0, blocker="CI is red")
    await team.checkin(1, mood=3.0, blocker="CI is red")
    reply = await say(sessions, OWNER, "report daily", channel=None)
    digest = reply.split("\n\n")[0]
    assert "Participation: 2 of 2 check-ins (100%)" in digest
    assert "Mood:" not in digest and "ci is red" not in digest


async def test_report_stays_an_admin_command(sessions: async_sessionmaker[AsyncSession]) -> None:
    team = await Team.create(sessions, size=2)
    await team.checkin(0)
    reply = await say(sessions, MEMBER, "report daily", channel=None)
    assert "only admins" in reply and "digest" not in reply

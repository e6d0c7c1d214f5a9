"""Continuity through the engine, day after day with a fixed clock, on both databases.

Ana's daily check-in comes at 09:00 UTC; each test holds several days of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.commands.service import run_command
from core.domain import Provider
from core.inbound import CommandRequest, IncomingMessage, Sender
from core.scripted_brain import ScriptedBrain
from core.store.models import Dot, Member
from tests.fakes.channel import FakeChannel
from tests.fakes.clock import FakeClock
from tests.fakes.core_parts import CoreParts, core_parts
from tests.fakes.world import add_due_session, add_member, add_org

DAY_ONE = datetime(2026, 11, 25, 9, tzinfo=UTC)
ANA, BO = "ana@acme.io", "bo@acme.io"
BLOCKER = "Waiting on legal for the vendor contract"
BLOCKER_RECALLED = f"Last time you mentioned a blocker: “{BLOCKER}”."


@dataclass
class Days:
    parts: CoreParts
    channel: FakeChannel
    clock: FakeClock

    async def next_checkin(self, who: str = ANA) -> tuple[int, str]:
        """The day's check-in delivered: its session and the opening's text."""
        session_id = await add_due_session(self.parts.sessions, who, due=self.clock.now())
        assert (await self.parts.delivery.deliver_due(now=self.clock.now())).delivered == 1
        return session_id, self.channel.sent[-1][1].text

    async def say(self, *texts: str, who: str = ANA) -> str:
        reply = ""
        for text in texts:
            incoming = IncomingMessage(sender=Sender(Provider.DEV, "acme", who), text=text)
            reply = (await self.parts.conversations.handle_message(incoming))[-1].text
        return reply

    async def command(self, text: str, who: str = ANA) -> str:
        request = CommandRequest(sender=Sender(Provider.DEV, "acme", who), text=text)
        sessions, clock = self.parts.sessions, self.clock
        return (
            await run_command(sessions=sessions, request=request, directory=None, clock=clock)
        ).text

    async def dots(self, session_id: int) -> dict[str, float | str | None]:
        async with self.parts.sessions() as db:
            found = await db.scalars(select(Dot).where(Dot.session_id == session_id))
            return {d.key: d.num_value if d.num_value is not None else d.text_value for d in found}

    def tomorrow(self) -> None:
        self.clock.advance(timedelta(days=1))


@pytest.fixture
async def days(engine: AsyncEngine) -> AsyncIterator[Days]:
    channel, clock = FakeChannel(), FakeClock(DAY_ONE)
    parts = core_parts(engine, ScriptedBrain(), channel, clock)
    async with parts.sessions.begin() as db:
        org = await add_org(db, plan_status="active")
        await add_member(db, org, ANA)
        await add_member(db, org, BO)
    yield Days(parts, channel, clock)


async def test_a_blocker_is_asked_about_the_next_day_and_counted_while_it_lasts(
    days: Days,
) -> None:
    await days.next_checkin()
    await days.say("4", "Finish the Q4 roadmap review", BLOCKER)

    days.tomorrow()
    second, opening = await days.next_checkin()
    assert BLOCKER_RECALLED in opening and opening.endswith("still blocking you, or resolved?")
    asked_next = await days.say("still blocked")
    assert asked_next.startswith("How are you feeling today")
    await days.say("3", "Chase legal")  # the blocker is not asked for again
    assert await days.dots(second) == {
        "blocker_status": "still blocked",
        "blocker_checkins": 2.0,
        "mood": 3.0,
        "focus": "Chase legal",
        "blockers": BLOCKER,
    }

    days.tomorrow()
    third, opening = await days.next_checkin()
    assert BLOCKER_RECALLED in opening
    await days.say("resolved", "5", "Vendor onboarding", "none")
    dots = await days.dots(third)
    assert (dots["blocker_status"], dots["blocker_checkins"], dots["blockers"]) == (
        "resolved",
        2.0,
        "none",
    )


async def test_without_a_blocker_the_planned_focus_is_followed_up(days: Days) -> None:
    await days.next_checkin()
    await days.say("4", "Finish the Q4 roadmap review", "none")
    days.tomorrow()
    second, opening = await days.next_checkin()
    assert "Last time your main focus was: “Finish the Q4 roadmap review”." in opening
    await days.say("Done, shipped it", "4", "Planning", "none")
    dots = await days.dots(second)
    assert dots["focus_review"] == "Done, shipped it" and "blocker_status" not in dots


async def test_a_first_check_in_has_nothing_to_follow_up(days: Days) -> None:
    first, opening = await days.next_checkin()
    assert "Last time" not in opening and opening.endswith("1 (rough) to 5 (great)?")
    await days.say("4", "Roadmap", "none")
    assert set(await days.dots(first)) == {"mood", "focus", "blockers"}


async def test_only_the_members_own_earlier_answers_are_recalled(days: Days) -> None:
    await days.next_checkin(BO)
    await days.say("2", "Hiring", BLOCKER, who=BO)
    days.tomorrow()
    _, opening = await days.next_checkin(ANA)
    assert "Last time" not in opening and BLOCKER not in opening


async def test_after_forget_the_next_check_in_starts_fresh(days: Days) -> None:
    await days.next_checkin()
    await days.say("4", "Roadmap", BLOCKER)
    days.clock.advance(timedelta(hours=1))
    assert "forgotten" in await days.command("forget")
    async with days.parts.sessions() as db:
        ana = await db.scalar(select(Member).where(Member.email == ANA))
        assert ana is not None and ana.memory_cleared_at == DAY_ONE + timedelta(hours=1)
    days.tomorrow()
    _, opening = await days.next_checkin()
    assert "Last time" not in opening

    await days.say("4", "Roadmap again", "none")
    days.tomorrow()
    _, opening = await days.next_checkin()  # what came after `forget` is remembered
    assert "Last time your main focus was: “Roadmap again”." in opening

"""A check-in planned before the member's public holiday was known is skipped when due."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from core.scripted_brain import ScriptedBrain
from core.store.models import CheckinSession, Member
from tests.fakes.channel import FakeChannel
from tests.fakes.clock import FakeClock
from tests.fakes.core_parts import core_parts
from tests.fakes.world import add_due_session, add_member, add_org

EPIPHANY_MORNING = datetime(2027, 1, 6, 9, tzinfo=UTC)


async def test_a_session_on_a_holiday_of_the_members_new_region_is_skipped_unsent(
    engine: AsyncEngine,
) -> None:
    channel = FakeChannel()
    parts = core_parts(engine, ScriptedBrain(), channel, FakeClock(EPIPHANY_MORNING))
    async with parts.sessions.begin() as db:
        org = await add_org(db, plan_status="active", holiday_region="DE")
        ana = await add_member(db, org, "ana@acme.io")
    session_id = await add_due_session(parts.sessions, "ana@acme.io", due=EPIPHANY_MORNING)
    async with parts.sessions.begin() as db:  # `holidays DE-BY` after planning
        (await db.get_one(Member, ana.id)).holiday_region = "DE-BY"
    counts = await parts.delivery.deliver_due(now=EPIPHANY_MORNING)
    async with parts.sessions() as db:
        session = await db.get_one(CheckinSession, session_id)
    assert (counts.skipped, session.state, session.outcome_note) == (1, "skipped", "public holiday")
    assert channel.sent == []


async def test_the_same_day_is_delivered_where_it_is_no_holiday(engine: AsyncEngine) -> None:
    channel = FakeChannel()
    parts = core_parts(engine, ScriptedBrain(), channel, FakeClock(EPIPHANY_MORNING))
    async with parts.sessions.begin() as db:
        org = await add_org(db, plan_status="active", holiday_region="DE-BE")
        await add_member(db, org, "ana@acme.io")
    await add_due_session(parts.sessions, "ana@acme.io", due=EPIPHANY_MORNING)
    assert (await parts.delivery.deliver_due(now=EPIPHANY_MORNING)).delivered == 1
    assert len(channel.sent) == 1

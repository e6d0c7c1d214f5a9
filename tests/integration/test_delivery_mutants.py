"""Delivery's counts and its on-demand take-over, as the surviving mutants showed them
untested (see docs/mutation.md)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.conversation import ALREADY_DONE
from core.scripted_brain import ScriptedBrain
from core.store.models import CheckinSession
from tests.fakes.brain import DownBrain, GatedOpeningBrain
from tests.fakes.channel import FakeChannel
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_due_session, add_member, add_org, add_schedule, agent_id
from tests.integration.test_conversation import ANA, NOW, build
from tests.integration.test_delivery import delivery_on, with_members

TODAY = date(2026, 11, 25)


async def test_each_retried_session_is_counted_with_its_error(engine: AsyncEngine) -> None:
    first, second = await with_members(engine, 2)
    counts = await delivery_on(engine, FakeChannel(), brain=DownBrain()).deliver_due(now=NOW)
    assert (counts.retried, counts.failed, counts.delivered) == (2, 0, 0)
    assert sorted(counts.errors) == [
        f"session {first}: internal error: BrainUnavailable",
        f"session {second}: internal error: BrainUnavailable",
    ]


async def test_each_session_given_up_is_counted(engine: AsyncEngine) -> None:
    await with_members(engine, 2)
    delivery = delivery_on(engine, FakeChannel(), brain=DownBrain())
    clock = delivery.clock
    assert isinstance(clock, FakeClock)
    for _ in range(5):
        last = await delivery.deliver_due(now=clock.now())
        clock.advance(timedelta(minutes=10))
    assert (last.failed, last.retried) == (2, 0)


async def test_a_start_taken_over_resumes_todays_on_demand_check_in_not_another(
    engine: AsyncEngine,
) -> None:
    """Ana has yesterday's on-demand check-in, today's of another agent and today's
    planned one (failed), all older in the table: the start taken over after a dead
    worker resumes today's on-demand daily check-in."""
    brain = GatedOpeningBrain()
    world = build(engine, brain)
    async with world.sessions.begin() as db:
        org = await add_org(db)
        ana = await add_member(db, org, ANA, timezone="Europe/Berlin")
        schedule = await add_schedule(db, org)
        daily, retro = await agent_id(db, "daily"), await agent_id(db, "retro")
        common = {"org_id": org.id, "member_id": ana.id, "due_at": NOW, "state": "completed"}
        end = {"expires_at": NOW + timedelta(hours=8)}
        db.add_all([
            CheckinSession(agent_id=daily, local_date=TODAY - timedelta(days=1),
                           expires_at=NOW - timedelta(hours=8), **common),
            CheckinSession(agent_id=retro, local_date=TODAY, **end, **common),
            CheckinSession(agent_id=daily, local_date=TODAY, schedule_id=schedule.id,
                           **end, **common | {"state": "failed"}),
        ])  # fmt: skip
    dying = asyncio.create_task(world.say("start", event="Ev1"))
    await brain.asked.wait()  # today's on-demand session exists; its opening is undecided
    dying.cancel()
    brain.gate.set()
    [reply] = await world.say("start", event="Ev1")
    assert reply.text.startswith("Hi Ana!") and len(world.channel.sent) == 1
    async with world.sessions() as db:
        opened = await db.scalar(select(CheckinSession).where(CheckinSession.state == "delivered"))
    assert opened is not None
    assert (opened.agent_id, opened.local_date, opened.schedule_id) == (daily, TODAY, None)


async def test_start_after_todays_planned_check_in_was_completed_opens_no_other(
    engine: AsyncEngine,
) -> None:
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    session_id = await add_due_session(world.sessions, ANA, due=NOW - timedelta(hours=1))
    async with world.sessions.begin() as db:
        (await db.get_one(CheckinSession, session_id)).state = "completed"
    [reply] = await world.say("start")
    assert reply.text.startswith(ALREADY_DONE) and len(world.channel.sent) == 1
    assert await world.count(CheckinSession) == 1


async def test_the_opening_a_start_answers_with_is_the_one_recorded_for_sending(
    engine: AsyncEngine,
) -> None:
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    [reply] = await world.say("start")
    assert reply.key == f"opening:{reply.session_id}"
    [(_to, sent)] = world.channel.sent
    assert sent.key == reply.key

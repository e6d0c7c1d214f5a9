"""An on-demand check-in (`start`) whose worker died, as the surviving mutants showed it
untested (see docs/mutation.md): who takes it over, and what a start run again says.

Ana (Europe/Berlin) at Acme; the clock says Wednesday 2026-11-25, 09:00 UTC.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ports import BrainInput, BrainReply
from core.scripted_brain import ScriptedBrain
from core.store.models import CheckinSession
from tests.fakes.brain import GatedOpeningBrain
from tests.fakes.world import add_due_session, add_member, add_org
from tests.integration.test_conversation import ANA, NOW, Engine, build

TODAY = date(2026, 11, 25)
PAST_THE_CLAIM = timedelta(minutes=11)  # delivery's CLAIM_TIMEOUT is ten minutes


class CountingBrain(ScriptedBrain):
    """The scripted brain, counting the openings it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.openings = 0

    async def opening(self, given: BrainInput) -> BrainReply:
        self.openings += 1
        return await super().opening(given)


async def with_ana(world: Engine) -> int:
    async with world.sessions.begin() as db:
        ana = await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    return ana.id


async def a_start_that_dies(world: Engine, brain: GatedOpeningBrain) -> None:
    """Ana types `start`; the worker dies while the model writes the opening."""
    brain.asked.clear()
    dying = asyncio.create_task(world.say("start", event="Ev1"))
    await asyncio.wait_for(brain.asked.wait(), timeout=10)
    dying.cancel()
    await asyncio.wait({dying})


async def sessions_of_today(world: Engine) -> dict[int | None, str]:
    """Today's sessions of Ana: {schedule id (None on demand): state}."""
    async with world.sessions() as db:
        found = await db.scalars(select(CheckinSession).where(CheckinSession.local_date == TODAY))
        return {s.schedule_id: s.state for s in found}


async def test_a_start_taken_over_delivers_its_own_check_in_not_the_planned_one_being_sent(
    engine: AsyncEngine,
) -> None:
    """The delivery loop has just claimed today's planned check-in when Ana types `start`;
    that start dies, and the one taking it over must not take the loop's claim too."""
    brain = GatedOpeningBrain()
    world = build(engine, brain)
    await with_ana(world)
    planned = await add_due_session(world.sessions, ANA, due=NOW)
    async with world.sessions.begin() as db:
        session = await db.get_one(CheckinSession, planned)
        session.state, session.claimed_at = "delivering", NOW  # the loop's claim
    await a_start_that_dies(world, brain)
    brain.gate.set()
    [reply] = await world.say("start", event="Ev1")
    assert reply.text.startswith("Hi Ana!") and len(world.channel.sent) == 1
    async with world.sessions() as db:
        schedule_id = (await db.get_one(CheckinSession, planned)).schedule_id
    assert await sessions_of_today(world) == {schedule_id: "delivering", None: "delivered"}


@pytest.mark.parametrize("planned", [False, True], ids=["created-on-demand", "brought-forward"])
async def test_a_start_that_died_is_delivered_by_the_loop_once_its_claim_times_out(
    engine: AsyncEngine, planned: bool
) -> None:
    brain = GatedOpeningBrain()
    world = build(engine, brain)
    await with_ana(world)
    if planned:  # today's planned check-in, due later today, brought forward by the start
        await add_due_session(world.sessions, ANA, due=NOW + timedelta(hours=2))
    await a_start_that_dies(world, brain)
    brain.gate.set()
    world.clock.advance(PAST_THE_CLAIM)
    counts = await world.delivery.deliver_due(now=world.clock.now())
    assert counts.delivered == 1 and len(world.channel.sent) == 1
    assert list((await sessions_of_today(world)).values()) == ["delivered"]


async def test_a_start_that_died_twice_is_still_delivered_by_the_loop(engine: AsyncEngine) -> None:
    """The start that took the first one over dies as well: its claim times out too."""
    brain = GatedOpeningBrain()
    world = build(engine, brain)
    await with_ana(world)
    await a_start_that_dies(world, brain)
    await a_start_that_dies(world, brain)  # it took the first one's check-in over
    brain.gate.set()
    world.clock.advance(PAST_THE_CLAIM)
    counts = await world.delivery.deliver_due(now=world.clock.now())
    assert counts.delivered == 1 and len(world.channel.sent) == 1
    assert await sessions_of_today(world) == {None: "delivered"}


async def test_a_start_run_again_after_its_opening_went_out_answers_with_that_opening(
    engine: AsyncEngine,
) -> None:
    """A start that crashed after the opening went out is run again (or two starts
    raced): the same opening, nothing sent again, the model not asked again."""
    brain = CountingBrain()
    world = build(engine, brain)
    ana = await with_ana(world)
    [first] = await world.say("start")
    again = await world.delivery.start_now(member_id=ana)
    assert again is not None and again.text == first.text
    assert len(world.channel.sent) == 1 and brain.openings == 1

"""Delivery's counts, its claims and its on-demand starts, as the surviving mutants
showed them untested (see docs/mutation.md)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.conversation import ALREADY_DONE
from core.ports import Brain, BrainInput, BrainReply, DeliveryError
from core.scripted_brain import ScriptedBrain
from core.store.engine import make_sessionmaker
from core.store.models import (
    Agent,
    CheckinSession,
    Member,
    Message,
    Organization,
    OutboxMessage,
    Schedule,
)
from tests.fakes.brain import DownBrain, GatedOpeningBrain
from tests.fakes.channel import FakeChannel
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_due_session, add_member, add_org, add_schedule, agent_id
from tests.integration.test_conversation import ANA, NOW, Engine, build
from tests.integration.test_delivery import delivery_on, states, with_members

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


OUTCOMES = {
    "away": lambda: FakeChannel(away_reason="status: 🌴 On vacation"),
    "to_email": lambda: FakeChannel(reachable=False),
    "retried": lambda: FakeChannel(failures=[DeliveryError("busy", retryable=True)] * 2),
    "failed": lambda: FakeChannel(failures=[DeliveryError("blocked", retryable=False)] * 2),
}


@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_each_sessions_outcome_is_counted_once(engine: AsyncEngine, outcome: str) -> None:
    await with_members(engine, 2)
    counts = await delivery_on(engine, OUTCOMES[outcome]()).deliver_due(now=NOW)
    assert getattr(counts, outcome) == 2 and counts.delivered == 0


async def test_each_session_of_a_paused_schedule_is_counted_skipped(engine: AsyncEngine) -> None:
    await with_members(engine, 2)
    async with make_sessionmaker(engine).begin() as db:
        await db.execute(update(Schedule).values(active=False))
    counts = await delivery_on(engine, FakeChannel()).deliver_due(now=NOW)
    assert (counts.skipped, counts.away) == (2, 0)


class SkippedMeanwhileBrain(ScriptedBrain):
    """The scripted brain; while it writes an opening, the member skips today's check-in
    (typed `skip`, taken by another worker)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def opening(self, given: BrainInput) -> BrainReply:
        async with self.sessions.begin() as db:
            await db.execute(update(CheckinSession).values(state="skipped"))
        return await super().opening(given)


async def test_a_check_in_skipped_while_its_opening_was_written_is_not_sent(
    engine: AsyncEngine,
) -> None:
    await with_members(engine, 2)
    channel = FakeChannel()
    brain = SkippedMeanwhileBrain(make_sessionmaker(engine))
    counts = await delivery_on(engine, channel, brain).deliver_due(now=NOW)
    assert (counts.skipped, counts.delivered) == (2, 0)
    assert channel.sent == [] and await states(engine) == ["skipped", "skipped"]
    assert await _count(engine, Message) == 0 and await _count(engine, OutboxMessage) == 0


async def test_a_check_in_delivered_earlier_today_is_not_claimed_again(
    engine: AsyncEngine,
) -> None:
    await with_members(engine, 1)
    channel = FakeChannel()
    delivery = delivery_on(engine, channel)
    await delivery.deliver_due(now=NOW)
    later = await delivery.deliver_due(now=NOW + timedelta(minutes=15))
    assert later.delivered == 0 and len(channel.sent) == 1
    assert await states(engine) == ["delivered"] and await _count(engine, Message) == 1


async def test_a_claim_another_worker_holds_is_left_to_it(engine: AsyncEngine) -> None:
    [session_id] = await with_members(engine, 1)
    async with make_sessionmaker(engine).begin() as db:
        session = await db.get_one(CheckinSession, session_id)
        session.state, session.claimed_at = "delivering", NOW - timedelta(minutes=1)
    channel = FakeChannel()
    counts = await delivery_on(engine, channel).deliver_due(now=NOW)
    assert counts.delivered == 0 and channel.sent == []
    assert await states(engine) == ["delivering"] and await _count(engine, Message) == 0


async def test_a_check_in_left_unanswered_expires_at_the_end_of_its_day(
    engine: AsyncEngine,
) -> None:
    await with_members(engine, 1)  # open until a day after it was due
    delivery = delivery_on(engine, FakeChannel())
    await delivery.deliver_due(now=NOW)
    counts = await delivery.deliver_due(now=NOW + timedelta(days=1))
    assert counts.expired == 1 and await states(engine) == ["expired"]


async def test_the_check_in_waiting_longest_is_sent_first(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine).begin() as db:
        org = await add_org(db)
        await add_member(db, org, "bo@acme.io")
        await add_member(db, org, "cy@acme.io")
    sessions = make_sessionmaker(engine)
    await add_due_session(sessions, "bo@acme.io", due=NOW - timedelta(minutes=5))
    await add_due_session(sessions, "cy@acme.io", due=NOW - timedelta(minutes=30))
    channel = FakeChannel()
    await delivery_on(engine, channel).deliver_due(now=NOW, limit=1)
    assert [to.email for to, _message in channel.sent] == ["cy@acme.io"]


class LagRecorder:
    """Signals that keep what delivery reports."""

    def __init__(self) -> None:
        self.lags: list[timedelta] = []

    def delivered(self, *, lag: timedelta) -> None:
        self.lags.append(lag)


async def test_each_opening_reports_how_long_after_its_due_time_it_went_out(
    engine: AsyncEngine,
) -> None:
    await with_members(engine, 1, due=NOW - timedelta(minutes=5))
    signals = LagRecorder()
    await delivery_on(engine, FakeChannel(), signals=signals).deliver_due(now=NOW)
    assert signals.lags == [timedelta(minutes=5)]


@pytest.mark.parametrize("planned", [True, False], ids=["planned", "on-demand"])
async def test_a_start_the_brain_fails_is_tried_again_a_minute_later(
    engine: AsyncEngine, planned: bool
) -> None:
    """The first of delivery's retries, 1, 2, 4, 8 minutes apart, five tries at most."""
    world = await _ana_in(engine, DownBrain())
    if planned:
        await add_due_session(world.sessions, ANA, due=NOW + timedelta(hours=3))
    await world.say("start")
    async with world.sessions() as db:
        [session] = await db.scalars(select(CheckinSession))
    assert (session.state, session.delivery_attempts) == ("scheduled", 1)
    assert session.due_at == NOW + timedelta(minutes=1)


async def test_start_brings_forward_only_its_own_agents_check_in(engine: AsyncEngine) -> None:
    """Ana's daily and retro check-ins are both planned for later today: `start` opens
    the daily one (her org's first schedule's) and leaves the retro where it was."""
    world = await _ana_in(engine, ScriptedBrain())
    daily = await add_due_session(world.sessions, ANA, due=NOW + timedelta(hours=3))
    async with world.sessions.begin() as db:
        org = await db.get_one(Organization, (await db.get_one(CheckinSession, daily)).org_id)
        retro = await add_schedule(db, org, "retro")
        later = CheckinSession(
            org_id=org.id, schedule_id=retro.id, member_id=(await _ana(db)).id,
            agent_id=retro.agent_id, local_date=TODAY, due_at=NOW + timedelta(hours=5),
            expires_at=NOW + timedelta(hours=14),
        )  # fmt: skip
        db.add(later)
    await world.say("start")
    assert (await world.session(daily)).state == "delivered"
    retros = await world.session(later.id)
    assert (retros.state, retros.due_at) == ("scheduled", NOW + timedelta(hours=5))


async def test_start_opens_the_first_schedules_check_in_whatever_its_agent(
    engine: AsyncEngine,
) -> None:
    """Acme scheduled the retro first, the daily check-in (an older agent) second."""
    world = await _ana_in(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        org = await db.get_one(Organization, (await _ana(db)).org_id)
        first = await add_schedule(db, org, "retro")
        await add_schedule(db, org, "daily")
    await world.say("start")
    async with world.sessions() as db:
        assert list(await db.scalars(select(CheckinSession.agent_id))) == [first.agent_id]


async def test_start_without_a_schedule_opens_the_orgs_own_daily_check_in(
    engine: AsyncEngine,
) -> None:
    """Another org's own `daily` and Acme's own `notes` agent come first in the table;
    Acme's own `daily` replaces the built-in one for Acme."""
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        builtin = await db.get_one(Agent, await agent_id(db, "daily"))
        other, acme = await add_org(db, "other"), await add_org(db)
        await add_member(db, acme, ANA, timezone="Europe/Berlin")
        for org, slug in ((other, "daily"), (acme, "notes"), (acme, "daily")):
            db.add(Agent(
                org_id=org.id, slug=slug, name=f"{org.name} {slug}", persona=builtin.persona,
                goal=builtin.goal, questions=builtin.questions, dot_keys=builtin.dot_keys,
            ))  # fmt: skip
    await world.say("start")
    async with world.sessions() as db:
        [opened] = await db.scalars(select(CheckinSession.agent_id))
        own = await db.scalar(
            select(Agent.id).where(Agent.org_id == acme.id, Agent.slug == "daily")
        )
    assert opened == own


async def _ana_in(engine: AsyncEngine, brain: Brain) -> Engine:
    world = build(engine, brain)
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    return world


async def _ana(db: AsyncSession) -> Member:
    ana = await db.scalar(select(Member).where(Member.email == ANA))
    assert ana is not None
    return ana


async def _count(engine: AsyncEngine, model: type) -> int:
    async with make_sessionmaker(engine)() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)

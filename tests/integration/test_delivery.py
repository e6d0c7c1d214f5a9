"""Delivery sends each due session exactly once, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.channels import ChannelSet
from core.delivery import Delivery
from core.outbox import Outbox
from core.ports import Brain, DeliveryError, Signals
from core.scripted_brain import ScriptedBrain
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import (
    CheckinSession,
    Member,
    Message,
    Organization,
    OutboxMessage,
    Schedule,
)
from tests.fakes.brain import DownBrain
from tests.fakes.channel import FakeChannel, LookupChannel
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_due_session, add_member, add_org

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


def delivery_on(
    engine: AsyncEngine,
    channel: FakeChannel,
    brain: Brain | None = None,
    *,
    signals: Signals | None = None,
) -> Delivery:
    sessions, channels, clock = make_sessionmaker(engine), ChannelSet([channel]), FakeClock(NOW)
    return Delivery(
        sessions=sessions,
        brain=brain or ScriptedBrain(),
        channels=channels,
        clock=clock,
        grace=timedelta(hours=2),
        outbox=Outbox(sessions=sessions, channels=channels, clock=clock),
        signals=signals,
    )


async def with_members(engine: AsyncEngine, count: int, *, due: datetime = NOW) -> list[int]:
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as db:
        org = await add_org(db)
        for n in range(count):
            await add_member(db, org, f"m{n}@acme.io")
    return [await add_due_session(sessions, f"m{n}@acme.io", due=due) for n in range(count)]


async def states(engine: AsyncEngine) -> list[str]:
    async with make_sessionmaker(engine)() as db:
        return list(await db.scalars(select(CheckinSession.state).order_by(CheckinSession.id)))


async def test_two_workers_at_once_send_each_session_exactly_once(
    engine: AsyncEngine, db_url: str
) -> None:
    await with_members(engine, 30)
    other_engine = make_async_engine(db_url)
    first, second = FakeChannel(), FakeChannel()
    try:
        await asyncio.gather(
            delivery_on(engine, first).deliver_due(now=NOW),
            delivery_on(other_engine, second).deliver_due(now=NOW),
        )
    finally:
        await other_engine.dispose()
    recipients = [to.member_id for to, _m in first.sent + second.sent]
    assert len(recipients) == 30 and len(set(recipients)) == 30
    assert set(await states(engine)) == {"delivered"}


async def test_a_session_not_yet_due_waits(engine: AsyncEngine) -> None:
    await with_members(engine, 1, due=NOW + timedelta(minutes=1))
    channel = FakeChannel()
    assert (await delivery_on(engine, channel).deliver_due(now=NOW)).delivered == 0
    assert channel.sent == []


async def test_a_member_no_chat_reaches_is_left_for_email(engine: AsyncEngine) -> None:
    await with_members(engine, 1)
    counts = await delivery_on(engine, FakeChannel(reachable=False)).deliver_due(now=NOW)
    assert counts.to_email == 1
    async with make_sessionmaker(engine)() as db:
        session = await db.scalar(select(CheckinSession))
    assert session is not None and (session.state, session.channel) == ("delivered", "email")


async def test_a_retryable_failure_is_tried_again_later_by_the_outbox(
    engine: AsyncEngine,
) -> None:
    await with_members(engine, 1)
    channel = FakeChannel(failures=[DeliveryError("rate limited", retryable=True)])
    delivery = delivery_on(engine, channel)
    assert (await delivery.deliver_due(now=NOW)).retried == 1
    assert await states(engine) == ["delivered"]  # decided; the outbox keeps the message
    assert channel.sent == []
    assert await delivery.outbox.send_due() == 0  # not before its back-off
    delivery.outbox.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    assert await delivery.outbox.send_due() == 1
    assert len(channel.sent) == 1 and await states(engine) == ["delivered"]


async def test_an_opening_given_up_by_the_outbox_fails_the_session(engine: AsyncEngine) -> None:
    await with_members(engine, 1)
    down = [DeliveryError("Slack is down", retryable=True) for _ in range(20)]
    delivery = delivery_on(engine, FakeChannel(failures=down))
    await delivery.deliver_due(now=NOW)
    for _ in range(20):
        delivery.outbox.clock.advance(timedelta(minutes=15))  # type: ignore[attr-defined]
        await delivery.outbox.send_due()
    assert await states(engine) == ["failed"]
    async with make_sessionmaker(engine)() as db:
        row = await db.scalar(select(OutboxMessage))
    assert row is not None and row.status == "failed" and row.attempts < 20


async def test_a_permanent_failure_marks_the_session_failed(engine: AsyncEngine) -> None:
    await with_members(engine, 1)
    channel = FakeChannel(failures=[DeliveryError("user blocked the bot", retryable=False)])
    assert (await delivery_on(engine, channel).deliver_due(now=NOW)).failed == 1
    assert await states(engine) == ["failed"]


async def test_sessions_past_their_end_expire(engine: AsyncEngine) -> None:
    await with_members(engine, 1, due=NOW - timedelta(days=2))
    counts = await delivery_on(engine, FakeChannel()).deliver_due(now=NOW)
    assert counts.expired == 1 and await states(engine) == ["expired"]


async def test_a_claim_abandoned_by_a_crashed_worker_is_delivered_later(
    engine: AsyncEngine,
) -> None:
    [session_id] = await with_members(engine, 1)
    async with make_sessionmaker(engine).begin() as db:
        session = await db.get_one(CheckinSession, session_id)
        session.state, session.claimed_at = "delivering", NOW - timedelta(minutes=30)
    assert (await delivery_on(engine, FakeChannel()).deliver_due(now=NOW)).delivered == 1


async def test_a_member_away_today_is_skipped_and_recorded_as_such(engine: AsyncEngine) -> None:
    await with_members(engine, 1)
    channel = FakeChannel(away_reason="status: 🌴 On vacation")
    assert (await delivery_on(engine, channel).deliver_due(now=NOW)).away == 1
    async with make_sessionmaker(engine)() as db:
        session = await db.scalar(select(CheckinSession))
    assert session is not None and session.state == "skipped"
    assert session.outcome_note == "away: status: 🌴 On vacation"


async def test_a_session_whose_schedule_was_paused_after_planning_is_skipped(
    engine: AsyncEngine,
) -> None:
    await with_members(engine, 1)
    async with make_sessionmaker(engine).begin() as db:
        schedule = await db.scalar(select(Schedule))
        assert schedule is not None
        schedule.active = False
    channel = FakeChannel()
    assert (await delivery_on(engine, channel).deliver_due(now=NOW)).skipped == 1
    assert channel.sent == [] and await states(engine) == ["skipped"]


async def test_a_session_of_an_org_whose_trial_ended_is_skipped(engine: AsyncEngine) -> None:
    await with_members(engine, 1)
    async with make_sessionmaker(engine).begin() as db:
        org = await db.scalar(select(Organization))
        assert org is not None
        org.trial_ends_at = NOW - timedelta(minutes=1)
    assert (await delivery_on(engine, FakeChannel()).deliver_due(now=NOW)).skipped == 1


async def test_a_check_in_too_late_to_send_expires_unsent(engine: AsyncEngine) -> None:
    await with_members(engine, 1, due=NOW - timedelta(hours=4))
    channel = FakeChannel()
    assert (await delivery_on(engine, channel).deliver_due(now=NOW)).expired == 1
    assert channel.sent == []


async def test_a_crash_while_delivering_one_session_spares_the_others(
    engine: AsyncEngine,
) -> None:
    await with_members(engine, 3)
    channel = FakeChannel(failures=[RuntimeError("a bug in a channel")])
    counts = await delivery_on(engine, channel).deliver_due(now=NOW)
    assert (counts.delivered, counts.retried) == (2, 1)


async def test_an_opening_that_arrived_before_its_sender_died_is_not_sent_again(
    engine: AsyncEngine,
) -> None:
    [session_id] = await with_members(engine, 1)
    channel = LookupChannel(gate=asyncio.Event(), gate_after_arrival=True)
    delivery = delivery_on(engine, channel)
    dying = asyncio.create_task(delivery.deliver_due(now=NOW))
    await channel.at_gate.wait()  # Slack has the message; the process dies before the ack
    dying.cancel()
    channel.gate = None
    delivery.outbox.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    assert await delivery.outbox.send_due() == 1
    assert len(channel.sent) == 1 and channel.look_ups == 1
    async with make_sessionmaker(engine)() as db:
        row = await db.scalar(select(OutboxMessage))
        opening = await db.scalar(select(Message).where(Message.session_id == session_id))
    assert row is not None and row.status == "sent" and row.attempts == 2
    assert opening is not None and opening.channel_message_id == "found0"


async def test_without_a_look_up_the_duplicate_window_is_one_message(engine: AsyncEngine) -> None:
    await with_members(engine, 1)
    channel = FakeChannel(gate=asyncio.Event(), gate_after_arrival=True)
    delivery = delivery_on(engine, channel)
    dying = asyncio.create_task(delivery.deliver_due(now=NOW))
    await channel.at_gate.wait()
    dying.cancel()
    channel.gate = None
    delivery.outbox.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    assert await delivery.outbox.send_due() == 1
    delivery.outbox.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    assert await delivery.outbox.send_due() == 0
    assert len(channel.sent) == 2  # the dev chat cannot look up: sent once more, no more


async def test_a_bounded_delivery_leaves_the_rest_for_later(engine: AsyncEngine) -> None:
    await with_members(engine, 12)
    channel = FakeChannel()
    delivery = delivery_on(engine, channel)
    first = await delivery.deliver_due(now=NOW, limit=5)
    assert (first.delivered, first.more_due) == (5, True)
    assert len(channel.sent) == 5 and (await states(engine)).count("scheduled") == 7
    rest = await delivery.deliver_due(now=NOW, limit=50)
    assert (rest.delivered, rest.more_due) == (7, False)


async def test_a_claim_takes_at_most_its_batch(engine: AsyncEngine) -> None:
    await with_members(engine, 12)
    delivery = delivery_on(engine, FakeChannel())
    assert len(await delivery._claim(now=NOW, batch=3)) == 3
    assert (await states(engine)).count("delivering") == 3


async def test_a_claim_abandoned_long_past_its_time_is_never_sent(engine: AsyncEngine) -> None:
    """A 09:00 check-in whose worker died must not arrive in the evening."""
    [session_id] = await with_members(engine, 1, due=NOW - timedelta(hours=4))
    async with make_sessionmaker(engine).begin() as db:
        session = await db.get_one(CheckinSession, session_id)
        session.state, session.claimed_at = "delivering", NOW - timedelta(hours=4)
    channel = FakeChannel()
    counts = await delivery_on(engine, channel).deliver_due(now=NOW)
    assert channel.sent == [] and counts.delivered == 0
    assert await states(engine) == ["delivering"]
    async with make_sessionmaker(engine)() as db:
        assert await db.scalar(select(Message)) is None
        assert await db.scalar(select(OutboxMessage)) is None


async def test_a_member_put_on_vacation_after_planning_is_not_sent_the_check_in(
    engine: AsyncEngine,
) -> None:
    """vacation_until set directly (as the admin API does), the session already planned."""
    [session_id] = await with_members(engine, 1)
    async with make_sessionmaker(engine).begin() as db:
        member = await db.scalar(select(Member))
        assert member is not None
        member.vacation_until = NOW.date()
    channel = FakeChannel()
    counts = await delivery_on(engine, channel).deliver_due(now=NOW)
    assert channel.sent == [] and (counts.delivered, counts.skipped) == (0, 1)
    async with make_sessionmaker(engine)() as db:
        session = await db.get_one(CheckinSession, session_id)
        assert (session.state, session.outcome_note) == ("skipped", "on vacation")
        assert await db.scalar(select(Message)) is None


async def test_an_opening_that_cannot_be_written_is_tried_again_with_back_off_then_failed(
    engine: AsyncEngine,
) -> None:
    [session_id] = await with_members(engine, 1)
    channel = FakeChannel()
    delivery = delivery_on(engine, channel, brain=DownBrain())
    clock = delivery.clock
    assert isinstance(clock, FakeClock)
    first = await delivery.deliver_due(now=NOW)
    assert (first.retried, first.failed) == (1, 0)
    async with make_sessionmaker(engine)() as db:
        session = await db.get_one(CheckinSession, session_id)
        assert (session.state, session.due_at) == ("scheduled", NOW + timedelta(minutes=1))
        assert session.outcome_note == "internal error: BrainUnavailable"
    assert (await delivery.deliver_due(now=NOW)).retried == 0  # not before its back-off
    for _ in range(4):
        clock.advance(timedelta(minutes=10))
        last = await delivery.deliver_due(now=clock.now())
    assert (last.retried, last.failed) == (0, 1)
    assert await states(engine) == ["failed"] and channel.sent == []


async def test_skipping_one_member_leaves_the_others_check_ins_alone(engine: AsyncEngine) -> None:
    first, second = await with_members(engine, 2)
    async with make_sessionmaker(engine).begin() as db:
        member = await db.scalar(select(Member).where(Member.email == "m0@acme.io"))
        assert member is not None
        member.vacation_until = NOW.date()
    channel = FakeChannel()
    counts = await delivery_on(engine, channel).deliver_due(now=NOW)
    assert (counts.skipped, counts.delivered) == (1, 1)
    assert [to.email for to, _m in channel.sent] == ["m1@acme.io"]
    async with make_sessionmaker(engine)() as db:
        assert (await db.get_one(CheckinSession, first)).state == "skipped"
        assert (await db.get_one(CheckinSession, second)).state == "delivered"


async def test_a_limit_above_one_batch_is_kept_across_batches(engine: AsyncEngine) -> None:
    await with_members(engine, 20)
    channel = FakeChannel()
    counts = await delivery_on(engine, channel).deliver_due(now=NOW, limit=12)  # 8 + 4
    assert (counts.delivered, counts.more_due, len(channel.sent)) == (12, True, 12)
    assert (await states(engine)).count("scheduled") == 8

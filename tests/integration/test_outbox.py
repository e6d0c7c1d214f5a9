"""The outbox on both databases: recorded once per key, sent once, retried, purged."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.backoff import Backoff
from core.outbox import Outbox, Sent, record_intent
from core.ports import DeliveryError, MemberAddress, OutgoingMessage
from core.scripted_brain import ScriptedBrain
from core.store.models import Member, Organization, OutboxMessage
from tests.fakes.channel import FakeChannel
from tests.fakes.world import add_member, add_org
from tests.integration.test_conversation import ANA, NOW, Engine, build


async def ana_world(engine: AsyncEngine) -> tuple[Engine, MemberAddress]:
    built = build(engine, ScriptedBrain())
    async with built.sessions.begin() as db:
        member = await add_member(db, await add_org(db), ANA)
    return built, MemberAddress(member.id, member.org_id, "Ana")


async def recorded(built: Engine, to: MemberAddress, key: str, text: str = "Hello") -> None:
    async with built.sessions.begin() as db:
        message = OutgoingMessage(text)
        await record_intent(
            db, key=key, to=to, kind="notice", message=message, now=built.clock.now()
        )


async def rows(built: Engine) -> list[OutboxMessage]:
    async with built.sessions() as db:
        return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_an_intent_is_recorded_once_per_key_and_sent_once(engine: AsyncEngine) -> None:
    built, ana = await ana_world(engine)
    await recorded(built, ana, "notice:Ev1", "first")
    await recorded(built, ana, "notice:Ev1", "second try of the same work")
    assert await built.outbox.send("notice:Ev1") is Sent.SENT
    assert await built.outbox.send("notice:Ev1") is Sent.SENT
    assert built.channel.texts_to(ana.member_id) == ["first"]
    [row] = await rows(built)
    assert row.status == "sent" and row.attempts == 1 and row.channel_message_id == "m0"


async def test_a_message_to_a_member_no_chat_reaches_is_failed_not_dropped(
    engine: AsyncEngine,
) -> None:
    built, ana = await ana_world(engine)
    built.channel.reachable = False
    await recorded(built, ana, "notice:Ev1")
    assert await built.outbox.send("notice:Ev1") is Sent.FAILED
    [row] = await rows(built)
    assert row.status == "failed" and row.last_error == "no chat reaches the member"


async def test_a_message_to_a_deactivated_member_is_not_sent(engine: AsyncEngine) -> None:
    built, ana = await ana_world(engine)
    await recorded(built, ana, "notice:Ev1")
    async with built.sessions.begin() as db:
        (await db.get_one(Member, ana.member_id)).active = False
    assert await built.outbox.send_due() == 1
    assert built.channel.sent == [] and (await rows(built))[0].status == "failed"


async def test_finished_rows_are_purged_after_the_retention_in_batches(
    engine: AsyncEngine,
) -> None:
    built, ana = await ana_world(engine)
    for n in range(3):
        await recorded(built, ana, f"notice:Ev{n}")
    await built.outbox.send_due()
    await recorded(built, ana, "notice:later")  # pending: kept
    later = NOW + timedelta(days=8)
    assert await built.outbox.purge(before=later, batch=2) == 2
    assert await built.outbox.purge(before=later, batch=2) == 1
    assert [r.key for r in await rows(built)] == ["notice:later"]


async def test_a_row_being_sent_is_not_claimed_by_another_worker(engine: AsyncEngine) -> None:
    built, ana = await ana_world(engine)
    await recorded(built, ana, "notice:Ev1")
    other = Outbox(sessions=built.sessions, channels=built.outbox.channels, clock=built.clock)
    assert len(await built.outbox._claim(limit=5)) == 1  # a worker is sending it
    assert await other.send_due() == 0
    built.clock.advance(timedelta(minutes=3))  # …and went silent
    assert await other.send_due() == 1
    [row] = await rows(built)
    assert row.in_doubt and row.attempts == 2 and row.status == "sent"
    assert isinstance(built.channel, FakeChannel) and len(built.channel.sent) == 1


async def test_a_late_outcome_of_a_claim_taken_over_changes_nothing(engine: AsyncEngine) -> None:
    built, ana = await ana_world(engine)
    await recorded(built, ana, "notice:Ev1")
    channel = built.channel
    assert isinstance(channel, FakeChannel)
    held = channel.gate = asyncio.Event()
    slow = asyncio.create_task(built.outbox.send("notice:Ev1"))  # a worker stuck mid-send
    await channel.at_gate.wait()
    channel.gate = None
    built.clock.advance(timedelta(minutes=3))
    other = Outbox(sessions=built.sessions, channels=built.outbox.channels, clock=built.clock)
    assert await other.send_due() == 1  # taken over, and sent
    channel.failures.append(DeliveryError("the first try failed late", retryable=False))
    held.set()
    await slow
    [row] = await rows(built)
    assert row.status == "sent" and row.last_error is None  # the new holder's outcome stands


def throttled(seconds: int) -> DeliveryError:
    """What a channel reports when the chat answered 429 with Retry-After: `seconds`."""
    return DeliveryError("rate limited", retryable=True, retry_after=timedelta(seconds=seconds))


async def test_a_rate_limited_message_is_not_tried_before_its_retry_after(
    engine: AsyncEngine,
) -> None:
    built, ana = await ana_world(engine)
    assert isinstance(built.channel, FakeChannel)
    built.channel.failures.append(throttled(600))  # far longer than the first back-off
    await recorded(built, ana, "notice:Ev1")
    assert await built.outbox.send("notice:Ev1") is Sent.RETRYING
    built.clock.advance(timedelta(seconds=599))
    assert await built.outbox.send_due() == 0
    built.clock.advance(timedelta(seconds=1))
    assert await built.outbox.send_due() == 1
    assert built.channel.texts_to(ana.member_id) == ["Hello"]


async def test_a_later_message_to_the_member_waits_behind_one_being_retried(
    engine: AsyncEngine,
) -> None:
    built, ana = await ana_world(engine)
    assert isinstance(built.channel, FakeChannel)
    built.channel.failures.append(throttled(30))
    await recorded(built, ana, "notice:first", "first")
    assert await built.outbox.send("notice:first") is Sent.RETRYING
    await recorded(built, ana, "notice:second", "second")
    assert await built.outbox.send("notice:second") is Sent.RETRYING  # left waiting
    assert built.channel.sent == []
    built.clock.advance(timedelta(seconds=30))
    assert await built.outbox.send_due() == 2
    assert built.channel.texts_to(ana.member_id) == ["first", "second"]


async def test_a_retry_holds_back_no_other_members_messages(engine: AsyncEngine) -> None:
    built, ana = await ana_world(engine)
    assert isinstance(built.channel, FakeChannel)
    async with built.sessions.begin() as db:
        org = await db.get_one(Organization, ana.org_id)
        ben = await add_member(db, org, "ben@acme.io")
    built.channel.failures.append(throttled(30))
    await recorded(built, ana, "notice:ana")
    await built.outbox.send("notice:ana")
    await recorded(built, MemberAddress(ben.id, ben.org_id, "Ben"), "notice:ben", "to Ben")
    assert await built.outbox.send("notice:ben") is Sent.SENT
    assert built.channel.texts_to(ben.id) == ["to Ben"]


async def test_a_message_given_up_holds_back_the_later_ones_no_longer(
    engine: AsyncEngine,
) -> None:
    built, ana = await ana_world(engine)
    assert isinstance(built.channel, FakeChannel)
    outbox = Outbox(sessions=built.sessions, channels=built.outbox.channels, clock=built.clock,
                    backoff=Backoff(max_attempts=2))  # fmt: skip
    built.channel.failures += [DeliveryError("Slack is down", retryable=True)] * 2
    await recorded(built, ana, "notice:first", "first")
    await recorded(built, ana, "notice:second", "second")
    assert await outbox.send("notice:first") is Sent.RETRYING
    built.clock.advance(timedelta(minutes=1))
    assert await outbox.send_due() == 2  # the first given up, then the second sent
    assert [r.status for r in await rows(built)] == ["failed", "sent"]
    assert built.channel.texts_to(ana.member_id) == ["second"]

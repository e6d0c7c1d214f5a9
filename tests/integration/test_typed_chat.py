"""Chats without slash commands: a typed line is a command or a turn, by one rule, and a
member with nothing open is offered only what will work."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.conversation import ALREADY_DONE, CAN_START, NOTHING_OPEN
from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.planning import plan_sessions
from core.store.models import CheckinSession, Message, Organization, OutboxMessage
from core.typed import TypedChat
from tests.fakes.world import add_schedule
from tests.integration.test_conversation import ANA, NOW, Engine, delivered, world

__all__ = ["world"]  # the fixture, shared with the engine's tests
ANA_SAYS = Sender(Provider.DEV, "acme", ANA)


async def help_reply(request: object) -> str:
    return "Here's what you can ask me:"


def typed(world: Engine) -> TypedChat:
    return TypedChat(conversations=world.conversations, run_command=help_reply)


async def test_a_command_word_with_nothing_open_runs_the_command(world: Engine) -> None:
    said = await typed(world).handle(IncomingMessage(ANA_SAYS, "help", event_id="Ev1"))
    assert said.command and said.replies[0].text == "Here's what you can ask me:"
    assert [m.text for _to, m in world.channel.sent] == ["Here's what you can ask me:"]


async def test_a_command_reply_is_sent_once_per_event(world: Engine) -> None:
    chat = typed(world)
    for _ in range(2):
        await chat.handle(IncomingMessage(ANA_SAYS, "help", event_id="Ev1"))
    assert len(world.channel.sent) == 1


async def test_while_a_question_waits_a_command_word_is_the_answer(world: Engine) -> None:
    session_id = await delivered(world)
    said = await typed(world).handle(IncomingMessage(ANA_SAYS, "help"))
    assert not said.command and "number from 1 to 5" in said.replies[0].text
    async with world.sessions() as db:
        turns = list(await db.scalars(select(Message.text).where(Message.speaker == "member")))
    assert turns == ["help"] and (await world.session(session_id)).state == "in_progress"


async def test_slash_vizdots_is_a_command_even_while_a_question_waits(world: Engine) -> None:
    await delivered(world)
    said = await typed(world).handle(IncomingMessage(ANA_SAYS, "/vizdots help"))
    assert said.command
    assert await world.count(Message, speaker="member") == 0


async def test_nothing_open_offers_a_start_that_works(world: Engine) -> None:
    [offer] = await world.say("hello?")
    assert offer.text == f"{NOTHING_OPEN} {CAN_START}"
    [opening] = await world.say("start")
    assert opening.text.startswith("Hi Ana!") and len(opening.buttons) == 6


async def test_after_todays_check_in_no_start_is_offered_but_the_next_one(world: Engine) -> None:
    async with world.sessions.begin() as db:
        org = await db.scalar(select(Organization))
        assert org is not None
        await add_daily_schedule(db, org)
    await world.say("start")
    for answer in ("4", "Docs", "none"):
        await world.say(answer)
    [reply] = await world.say("hello?")
    assert reply.text.startswith(ALREADY_DONE) and "start" not in reply.text
    assert (
        "Your next check-in (Daily check-in) is due Thu 11:00, Europe/Berlin time." in reply.text
    )  # not today: done


async def test_a_skipped_check_in_is_over_for_the_day(world: Engine) -> None:
    await world.say("start")
    await world.say("skip")
    [reply] = await world.say("start")
    assert reply.text.startswith("You skipped today's check-in.")
    assert await world.count(CheckinSession) == 1


async def test_start_brings_todays_planned_check_in_forward(world: Engine) -> None:
    async with world.sessions.begin() as db:
        org = await db.scalar(select(Organization))
        assert org is not None
        await add_daily_schedule(db, org)
    await plan_sessions(sessions=world.sessions, now=NOW, grace=timedelta(hours=2))
    [opening] = await world.say("start")
    assert opening.text.startswith("Hi Ana!")
    async with world.sessions() as db:
        states = list(await db.scalars(select(CheckinSession.state).where(
            CheckinSession.local_date == NOW.date())))  # fmt: skip
    assert states == ["delivered"]  # the planned one, not a second check-in
    await world.delivery.deliver_due(now=NOW + timedelta(hours=1))  # its original due time
    assert len(world.channel.sent) == 1


async def add_daily_schedule(db: AsyncSession, org: Organization) -> None:
    await add_schedule(db, org, local_time=time(11))


async def test_a_command_word_taken_as_an_answer_says_how_to_run_it(world: Engine) -> None:
    await delivered(world)
    said = await typed(world).handle(IncomingMessage(ANA_SAYS, "report", event_id="Ev2"))
    assert not said.command
    hint = "(I took that as your answer. To run `report` while a question waits, type "
    assert said.replies[-1].text.startswith(hint)
    assert [m.text for _to, m in world.channel.sent][-1].startswith(hint)


async def test_a_command_reply_is_not_kept_once_sent(world: Engine) -> None:
    """A reply may hold a secret (`token` shows an admin API token once)."""
    await typed(world).handle(IncomingMessage(ANA_SAYS, "help", event_id="Ev3"))
    async with world.sessions() as db:
        kept = await db.scalar(select(OutboxMessage).where(OutboxMessage.key == "command:Ev3"))
    assert kept is not None and kept.status == "sent" and kept.payload["text"] == ""

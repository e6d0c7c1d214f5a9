"""What the conversation engine records and says at the edges the surviving mutants
showed untested (see docs/mutation.md): edits, skips, the end of a check-in, and what a
member with nothing open is told.

Ana (Europe/Berlin) at Acme; the clock says Wednesday 2026-11-25, 09:00 UTC.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.conversation import HELP_HINT, NONE_PLANNED, UNKNOWN_SENDER
from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.ports import OutgoingMessage
from core.scripted_brain import ScriptedBrain
from core.store.models import CheckinSession, Installation, Message, Organization, Schedule
from tests.fakes.brain import GatedBrain
from tests.fakes.channel import FakeChannel
from tests.fakes.clock import FakeClock
from tests.fakes.core_parts import core_parts
from tests.fakes.world import add_due_session, add_member, add_org
from tests.integration.test_conversation import (
    ANA,
    NOW,
    Engine,
    delivered,
    delivered_on,
    stored,
    world,
)

__all__ = ["world"]
SENDER = Sender(Provider.DEV, "acme", ANA)
BOB = "bob@acme.io"


async def answer_with_id(world: Engine, text: str, message_id: str) -> None:
    await world.conversations.handle_message(IncomingMessage(SENDER, text, message_id=message_id))


async def member_turn(world: Engine, message_id: str) -> Message:
    async with world.sessions() as db:
        turn = await db.scalar(select(Message).where(Message.channel_message_id == message_id))
    assert turn is not None
    return turn


# --- edits -----------------------------------------------------------------------------------
async def test_an_edit_keeps_the_new_text_and_when_it_was_edited(world: Engine) -> None:
    await delivered(world)
    await answer_with_id(world, "2", "msg-1")
    world.clock.advance(timedelta(minutes=3))
    assert await world.conversations.handle_edit(EditedMessage(SENDER, "msg-1", "5"))
    turn = await member_turn(world, "msg-1")
    assert (turn.text, turn.edited_at) == ("5", NOW + timedelta(minutes=3))


async def test_an_edit_to_an_unreadable_answer_keeps_the_answer(world: Engine) -> None:
    session_id = await delivered(world)
    await answer_with_id(world, "2", "msg-1")
    before = await world.session(session_id)
    assert await world.conversations.handle_edit(EditedMessage(SENDER, "msg-1", "no idea"))
    after = await world.session(session_id)
    assert after.brain_state["answers"] == {"mood": 2} and after.version == before.version
    assert (await member_turn(world, "msg-1")).text == "no idea"


async def test_an_edit_moves_the_sessions_version_on(world: Engine) -> None:
    session_id = await delivered(world)
    await answer_with_id(world, "2", "msg-1")
    version = (await world.session(session_id)).version
    await world.conversations.handle_edit(EditedMessage(SENDER, "msg-1", "4"))
    assert (await world.session(session_id)).version == version + 1


# --- skip and the end ------------------------------------------------------------------------
async def test_a_skip_is_recorded_as_the_members(world: Engine) -> None:
    session_id = await delivered(world)
    [reply] = await world.say("skip")
    assert reply.text == "Skipped for today — see you next time! 👋"
    session = await world.session(session_id)
    assert (session.state, session.outcome_note) == ("skipped", "skipped by member")


async def test_a_completed_check_in_records_when_it_was_completed(world: Engine) -> None:
    session_id = await delivered(world)
    world.clock.advance(timedelta(minutes=5))
    for text in ("4", "Docs", "none"):
        await world.say(text)
    session = await world.session(session_id)
    assert (session.state, session.completed_at) == ("completed", NOW + timedelta(minutes=5))


async def test_each_agent_turn_is_stored_under_the_question_it_asks(world: Engine) -> None:
    session_id = await delivered(world)
    await world.say("4")
    await world.say("meh")  # not a focus? any text is: the next question comes
    async with world.sessions() as db:
        turns = await db.execute(
            select(Message.speaker, Message.question_key)
            .where(Message.session_id == session_id)
            .order_by(Message.id)
        )
        keys = [(speaker, key) for speaker, key in turns]
    assert keys == [
        ("agent", "mood"), ("member", "mood"), ("agent", "focus"),
        ("member", "focus"), ("agent", "blockers"),
    ]  # fmt: skip


async def test_a_re_asked_question_keeps_its_key_and_buttons(world: Engine) -> None:
    session_id = await delivered(world)
    [reply] = await world.say("somewhere in between")
    assert len(reply.buttons) == 6
    async with world.sessions() as db:
        last = await db.scalar(
            select(Message).where(Message.session_id == session_id).order_by(Message.id.desc())
        )
    assert last is not None and (last.speaker, last.question_key) == ("agent", "mood")


# --- nothing open ----------------------------------------------------------------------------
async def test_after_skipping_today_a_message_says_so_and_what_comes_next(world: Engine) -> None:
    await delivered(world)
    await world.say("skip")
    [reply] = await world.say("hello?")
    assert reply.text == (
        "You skipped today's check-in. "
        f"Your next check-in (Daily check-in) is due Thu 09:00, Europe/Berlin time.\n{HELP_HINT}"
    )


async def test_after_todays_check_in_closed_a_start_says_so_and_that_none_is_planned(
    world: Engine,
) -> None:
    session_id = await delivered(world)
    async with world.sessions.begin() as db:
        (await db.get_one(CheckinSession, session_id)).state = "expired"
        (await db.get_one(Schedule, (await world.session(session_id)).schedule_id)).active = False
    [reply] = await world.say("start")
    assert reply.text == f"Today's check-in has closed. {NONE_PLANNED}\n{HELP_HINT}"


# --- questions waiting -----------------------------------------------------------------------
async def test_a_question_waits_only_while_a_check_in_is_open(world: Engine) -> None:
    assert not await world.conversations.question_waiting(SENDER)
    await delivered(world)
    assert await world.conversations.question_waiting(SENDER)
    assert not await world.conversations.question_waiting(Sender(Provider.DEV, "acme", "x@y.z"))


async def test_the_waiting_question_is_the_last_agent_turn_with_its_buttons(world: Engine) -> None:
    assert await world.conversations.waiting_question(SENDER) is None
    session_id = await delivered(world)
    opening = await world.conversations.waiting_question(SENDER)
    assert opening is not None and opening.text.startswith("Hi Ana!")
    assert (opening.session_id, len(opening.buttons)) == (session_id, 6)
    await world.say("4")
    focus = await world.conversations.waiting_question(SENDER)
    assert focus is not None and focus.text == "What's your main focus today?"
    assert await world.conversations.waiting_question(Sender(Provider.DEV, "acme", "x@y.z")) is None


# --- strangers -------------------------------------------------------------------------------
async def test_a_stranger_in_a_workspace_nobody_installed_is_answered_not_messaged(
    world: Engine,
) -> None:
    stranger = Sender(Provider.DEV, "nowhere", "who@x.io")
    [reply] = await world.conversations.handle_message(IncomingMessage(stranger, "hi"))
    assert reply.text == UNKNOWN_SENDER and world.channel.sent == []


async def test_a_slack_stranger_is_told_in_a_dm_to_their_slack_user(engine: AsyncEngine) -> None:
    channel = FakeChannel(provider=Provider.SLACK)
    parts = core_parts(engine, ScriptedBrain(), channel, FakeClock(NOW))
    async with parts.sessions.begin() as db:
        org = await add_org(db)
        db.add(Installation(org_id=org.id, provider="slack", external_id="T1"))
    stranger = Sender(Provider.SLACK, "T1", "U0WHO")
    await parts.conversations.handle_message(IncomingMessage(stranger, "hi"))
    [(to, told)] = channel.sent
    assert (to.org_id, to.slack_user_id, told.text) == (org.id, "U0WHO", UNKNOWN_SENDER)


# --- button presses --------------------------------------------------------------------------
async def test_the_next_question_comes_with_its_own_buttons(world: Engine) -> None:
    await delivered(world)
    [(_to, opening)] = world.channel.sent
    await world.say("4", choice=opening.buttons[3].value)
    [(_to, focus)] = world.channel.sent[1:]
    assert focus.text == "What's your main focus today?"
    assert [b.label for b in focus.buttons] == ["Skip today"]  # a text question: skip only


async def test_a_press_is_read_by_its_buttons_value_not_the_text_it_came_with(
    world: Engine,
) -> None:
    session_id = await delivered(world)
    [(_to, opening)] = world.channel.sent
    await world.say("", choice=opening.buttons[3].value)  # a chat may send no label
    assert (await world.session(session_id)).brain_state["answers"] == {"mood": 4}


async def test_a_press_updates_the_pressers_own_question_not_one_asked_later_of_another(
    world: Engine,
) -> None:
    async with world.sessions.begin() as db:
        await add_member(db, await db.get_one(Organization, 1), BOB)
    await delivered(world)  # Ana's question: the first message sent
    await add_due_session(world.sessions, BOB, due=NOW)
    await world.delivery.deliver_due(now=NOW)  # Bob's, asked after Ana's
    [(_to, opening), (to_bob, _)] = world.channel.sent
    assert to_bob.email == BOB
    await world.say("4", choice=opening.buttons[3].value)
    [(message_id, updated)] = world.channel.updated
    assert message_id == "m0" and updated.text.endswith("You chose 4")


async def test_a_press_that_brings_its_own_message_id_updates_the_question_not_the_press(
    world: Engine,
) -> None:
    await delivered(world)
    [(_to, opening)] = world.channel.sent
    press = IncomingMessage(SENDER, "4 🙂", message_id="press-1", choice=opening.buttons[3].value)
    await world.conversations.handle_message(press)  # Teams gives each press an activity id
    [(message_id, updated)] = world.channel.updated
    assert message_id == "m0" and updated.text.startswith("Hi Ana!")


async def test_a_press_taken_over_from_a_dead_worker_still_marks_its_question(
    engine: AsyncEngine,
) -> None:
    brain = GatedBrain()
    world = await delivered_on(engine, brain)
    [(_to, opening)] = world.channel.sent
    press = IncomingMessage(SENDER, "4 🙂", event_id="Ev1", choice=opening.buttons[3].value)
    dying = asyncio.create_task(world.conversations.handle_message(press))
    await brain.asked.wait()  # the press is stored; the worker dies waiting on the model
    dying.cancel()
    await asyncio.wait({dying})
    brain.gate.set()
    await world.conversations.handle_message(press)  # the inbox takes the event again
    [(message_id, updated)] = world.channel.updated
    assert message_id == "m0" and updated.text.endswith("You chose 4")


async def closed_and_open(world: Engine) -> tuple[OutgoingMessage, int]:
    """Yesterday's check-in, closed with its first question unanswered, and today's, open
    and waiting on the same question: (yesterday's opening, today's session)."""
    yesterday = await add_due_session(world.sessions, ANA, due=NOW - timedelta(days=1))
    await world.delivery.deliver_due(now=NOW - timedelta(days=1))
    [(_to, old_opening)] = world.channel.sent
    async with world.sessions.begin() as db:
        (await db.get_one(CheckinSession, yesterday)).state = "expired"
    return old_opening, await delivered(world)


async def test_a_press_on_a_closed_check_ins_button_leaves_todays_open_one_alone(
    world: Engine,
) -> None:
    old_opening, today = await closed_and_open(world)
    before = await stored(world, today)
    await world.say("4", choice=old_opening.buttons[3].value)
    assert await stored(world, today) == before


async def test_a_press_on_a_closed_check_ins_button_is_not_told_nothing_is_open(
    world: Engine,
) -> None:
    old_opening, _today = await closed_and_open(world)
    sent = len(world.channel.sent)
    assert await world.say("4", choice=old_opening.buttons[3].value) == []
    assert len(world.channel.sent) == sent  # ignored like any stale press; today's waits


# --- events taken again ----------------------------------------------------------------------
async def test_the_last_answer_taken_again_after_the_check_in_ended_says_nothing_more(
    world: Engine,
) -> None:
    await delivered(world)
    await world.say("4", event="Ev1")
    await world.say("Ship it", event="Ev2")
    await world.say("none", event="Ev3")  # the check-in is completed
    sent = len(world.channel.sent)
    assert await world.say("none", event="Ev3") == []  # the inbox takes the event again
    assert len(world.channel.sent) == sent

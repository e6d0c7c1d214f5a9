"""What the conversation engine says at the edges the surviving mutants of core/ showed
untested (see docs/mutation.md).

Ana (Europe/Berlin) at Acme; the clock says Wednesday 2026-11-25, 09:00 UTC.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.rendering import encode_choice
from core.scripted_brain import ScriptedBrain
from core.store.models import CheckinSession, Message
from tests.fakes.world import add_member, add_org, add_schedule
from tests.integration.test_conversation import ANA, NOW, Engine, build, delivered

BOB = "bob@acme.io"
SENDER, BOBS = Sender(Provider.DEV, "acme", ANA), Sender(Provider.DEV, "acme", BOB)
TODAY = date(2026, 11, 25)


async def ana_and_bob_with_anas_check_in(engine: AsyncEngine) -> tuple[Engine, int]:
    """Ana and Bob in one org; Ana's check-in delivered (its session id returned)."""
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        org = await add_org(db)
        await add_member(db, org, ANA, timezone="Europe/Berlin")
        await add_member(db, org, BOB, timezone="Europe/Berlin")
    return world, await delivered(world)


async def test_a_member_whose_message_is_given_up_is_told_in_their_language(
    engine: AsyncEngine,
) -> None:
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin", language="de")
    await world.conversations.could_not_process(SENDER, event_id="Ev1")
    [notice] = world.channel.texts_to(1)
    assert notice.startswith("Sorry, ich konnte deine letzte Nachricht nicht verarbeiten.")


async def test_a_press_on_another_members_question_is_not_stored_in_their_check_in(
    engine: AsyncEngine,
) -> None:
    """Bob sends a button value naming Ana's open check-in (a forged or misrouted press)."""
    world, anas = await ana_and_bob_with_anas_check_in(engine)
    press = IncomingMessage(BOBS, "5", choice=encode_choice(anas, "mood", "5"))
    await world.conversations.handle_message(press)
    assert await world.count(Message, speaker="member") == 0
    assert (await world.session(anas)).brain_state.get("answers", {}) == {}


async def test_an_answer_goes_to_the_check_in_due_last_when_two_are_open(
    engine: AsyncEngine,
) -> None:
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        org = await add_org(db)
        ana = await add_member(db, org, ANA, timezone="Europe/Berlin")
        ids = []
        for slug, due in (("daily", NOW - timedelta(hours=1)), ("retro", NOW)):
            schedule = await add_schedule(db, org, slug)
            session = CheckinSession(
                org_id=org.id, member_id=ana.id, schedule_id=schedule.id,
                agent_id=schedule.agent_id, local_date=TODAY, due_at=due,
                expires_at=NOW + timedelta(hours=8),
            )  # fmt: skip
            db.add(session)
            await db.flush()
            ids.append(session.id)
    for _ in ids:  # one at a time, the earlier first
        assert (await world.delivery.deliver_due(now=NOW, limit=1)).delivered == 1
    await world.say("4")
    async with world.sessions() as db:
        [answered] = await db.scalars(select(Message.session_id).where(Message.speaker == "member"))
    assert answered == ids[1]


async def test_an_edit_by_another_member_of_a_message_id_of_anas_changes_nothing(
    engine: AsyncEngine,
) -> None:
    world, anas = await ana_and_bob_with_anas_check_in(engine)
    await world.conversations.handle_message(IncomingMessage(SENDER, "2", message_id="msg-1"))
    assert not await world.conversations.handle_edit(EditedMessage(BOBS, "msg-1", "5"))
    assert await member_texts(world) == ["2"]
    assert (await world.session(anas)).brain_state["answers"] == {"mood": 2}


async def test_an_edit_naming_the_agents_question_changes_neither_it_nor_the_answers(
    engine: AsyncEngine,
) -> None:
    """The bot's own message edited (a chat reports its update of the question as one)."""
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    anas = await delivered(world)
    async with world.sessions() as db:
        [question] = await db.scalars(select(Message).where(Message.speaker == "agent"))
    assert question.channel_message_id is not None  # the id the chat gave the opening
    edit = EditedMessage(SENDER, question.channel_message_id, "5")
    assert not await world.conversations.handle_edit(edit)
    async with world.sessions() as db:
        assert (await db.get_one(Message, question.id)).text == question.text
    assert (await world.session(anas)).brain_state.get("answers", {}) == {}


async def member_texts(world: Engine) -> list[str]:
    async with world.sessions() as db:
        query = select(Message.text).where(Message.speaker == "member").order_by(Message.id)
        return list(await db.scalars(query))


async def test_a_press_on_a_re_asked_question_marks_the_latest_asking(engine: AsyncEngine) -> None:
    """The opening asked the mood; an unreadable answer made the agent ask again: the
    press on the second asking marks that message, not the first."""
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    await delivered(world)
    [reask] = await world.say("meh, somewhere between")
    four = next(b for b in reask.buttons if b.label.startswith("4"))
    await world.say("4", choice=four.value)
    async with world.sessions() as db:
        query = select(Message.channel_message_id).where(Message.speaker == "agent")
        first, second, *_ = await db.scalars(query.order_by(Message.id))
    assert [message_id for message_id, _marked in world.channel.updated] == [second]
    assert second != first


async def test_a_check_in_delivered_through_the_chat_records_the_chat_as_its_channel(
    engine: AsyncEngine,
) -> None:
    """Reminders read it: a session delivered by email gets its check-in link by email."""
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    session = await world.session(await delivered(world))
    assert (session.state, session.channel) == ("delivered", Provider.DEV.value)


async def test_a_sender_not_known_yet_is_spoken_to_in_their_orgs_language(
    engine: AsyncEngine,
) -> None:
    """What a typed chat says to someone it cannot place yet (a command's reply)."""
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_org(db, language="fr")
    assert await world.conversations.language_for(BOBS) == "fr"


async def test_a_sender_of_a_workspace_not_installed_is_spoken_to_in_english(
    engine: AsyncEngine,
) -> None:
    world = build(engine, ScriptedBrain())
    stranger = Sender(Provider.DEV, "not-installed", BOB)
    assert await world.conversations.language_for(stranger) == "en"


async def test_a_sender_not_known_yet_is_told_how_to_join_in_their_orgs_language(
    engine: AsyncEngine,
) -> None:
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_org(db, language="fr")
    await world.conversations.handle_message(IncomingMessage(BOBS, "bonjour"))
    [(_to, told)] = world.channel.sent
    assert told.text.startswith("Salut ! Je ne te connais pas encore dans VizDots.")

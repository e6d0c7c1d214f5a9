"""A check-in conversation through the engine with the scripted brain, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import await_only

from core.conversation import (
    ALREADY_DONE,
    CAN_START,
    NOTHING_OPEN,
    SNAG,
    UNKNOWN_SENDER,
    Conversations,
)
from core.delivery import Delivery
from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.outbox import Outbox
from core.planning import plan_sessions
from core.ports import Brain
from core.scripted_brain import FallbackBrain, ScriptedBrain
from core.store.engine import make_async_engine
from core.store.models import AiLog, CheckinSession, Dot, Message, Organization
from tests.fakes.brain import BuggyBrain, DownBrain, GatedOpeningBrain, LoggingBrain
from tests.fakes.channel import FakeChannel
from tests.fakes.clock import FakeClock
from tests.fakes.core_parts import core_parts
from tests.fakes.world import add_due_session, add_member, add_org, add_schedule, agent_id

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
ANA = "ana@acme.io"


@dataclass
class Engine:
    sessions: async_sessionmaker[AsyncSession]
    channel: FakeChannel
    clock: FakeClock
    delivery: Delivery
    conversations: Conversations
    outbox: Outbox

    async def say(self, text: str, *, event: str | None = None, choice: str | None = None):
        sender = Sender(Provider.DEV, "acme", ANA)
        incoming = IncomingMessage(sender=sender, text=text, event_id=event, choice=choice)
        return await self.conversations.handle_message(incoming)

    async def session(self, session_id: int) -> CheckinSession:
        async with self.sessions() as db:
            return await db.get_one(CheckinSession, session_id)

    async def count(self, model: type, **where: object) -> int:
        async with self.sessions() as db:
            query = select(func.count()).select_from(model).filter_by(**where)
            return int(await db.scalar(query) or 0)


def build(engine: AsyncEngine, brain: Brain) -> Engine:
    channel, clock = FakeChannel(), FakeClock(NOW)
    parts = core_parts(engine, brain, channel, clock)
    return Engine(parts.sessions, channel, clock, parts.delivery, parts.conversations, parts.outbox)


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[Engine]:
    built = build(engine, ScriptedBrain())
    async with built.sessions.begin() as db:
        org = await add_org(db)
        await add_member(db, org, ANA, timezone="Europe/Berlin")
    yield built


async def delivered(world: Engine) -> int:
    session_id = await add_due_session(world.sessions, ANA, due=NOW)
    counts = await world.delivery.deliver_due(now=NOW)
    assert counts.delivered == 1
    return session_id


async def delivered_on(engine: AsyncEngine, brain: Brain) -> Engine:
    """The world of `world` on another brain, Ana's check-in delivered."""
    built = build(engine, brain)
    async with built.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    await delivered(built)
    return built


async def test_opening_greets_and_asks_the_first_question_with_buttons(world: Engine) -> None:
    await delivered(world)
    [(_to, opening)] = world.channel.sent
    assert opening.text.startswith("Hi Ana!") and "1 (rough) to 5 (great)" in opening.text
    assert [b.label for b in opening.buttons][-1] == "Skip today"
    assert len(opening.buttons) == 6


async def test_a_whole_check_in_ends_with_dots_summary_and_thanks(world: Engine) -> None:
    session_id = await delivered(world)
    await world.say("four")
    await world.say("Ship the billing page")
    [thanks] = await world.say("none")
    session = await world.session(session_id)
    assert session.state == "completed" and "Thanks" in thanks.text
    async with world.sessions() as db:
        dots = {d.key: d.num_value or d.text_value for d in await db.scalars(select(Dot))}
    assert dots == {"mood": 4.0, "focus": "Ship the billing page", "blockers": "none"}
    assert session.summary == "Mood: 4/5; focus: Ship the billing page; blockers: none."


async def test_an_unreadable_scale_answer_is_asked_again(world: Engine) -> None:
    session_id = await delivered(world)
    [reply] = await world.say("meh, somewhere between")
    assert "number from 1 to 5" in reply.text and len(reply.buttons) == 6
    assert (await world.session(session_id)).brain_state["pending"] == "mood"


async def test_skip_ends_todays_check_in(world: Engine) -> None:
    session_id = await delivered(world)
    [reply] = await world.say("skip")
    assert "Skipped" in reply.text
    assert (await world.session(session_id)).state == "skipped"


async def test_a_button_press_answers_and_updates_the_question(world: Engine) -> None:
    session_id = await delivered(world)
    [(_to, opening)] = world.channel.sent
    four = next(b for b in opening.buttons if b.label.startswith("4"))
    [reply] = await world.say("4", choice=four.value)
    assert reply.text == "What's your main focus today?"
    assert world.channel.updated[0][1].text.endswith("You chose 4")
    assert (await world.session(session_id)).brain_state["answers"] == {"mood": 4}


async def test_the_skip_button_marks_the_question_skipped_and_takes_its_buttons(
    world: Engine,
) -> None:
    session_id = await delivered(world)
    [(_to, opening)] = world.channel.sent
    skip = next(b for b in opening.buttons if b.label == "Skip today")
    await world.say("Skip today", choice=skip.value)
    [(message_id, updated)] = world.channel.updated
    assert message_id == "m0"  # the opening, the first message sent
    assert updated.text.endswith("Skipped") and updated.buttons == ()
    assert (await world.session(session_id)).state == "skipped"


async def test_two_presses_at_once_answer_one_question(world: Engine) -> None:
    session_id = await delivered(world)
    [(_to, opening)] = world.channel.sent
    four, two = opening.buttons[3].value, opening.buttons[1].value
    await asyncio.gather(world.say("4", choice=four), world.say("2", choice=two))
    answers = (await world.session(session_id)).brain_state["answers"]
    assert list(answers) == ["mood"]


async def test_a_second_press_on_an_answered_question_changes_nothing(world: Engine) -> None:
    session_id = await delivered(world)
    [(_to, opening)] = world.channel.sent
    await world.say("4", choice=opening.buttons[3].value)
    before = await stored(world, session_id)
    sent = len(world.channel.sent)
    assert await world.say("2", choice=opening.buttons[1].value) == []
    assert await stored(world, session_id) == before  # no turn kept under "focus"
    assert len(world.channel.sent) == sent


async def stored(world: Engine, session_id: int) -> tuple[object, ...]:
    """What a stale press must leave as it was: the turns, the answers, the version."""
    async with world.sessions() as db:
        turns = await db.execute(
            select(Message.speaker, Message.text, Message.question_key)
            .where(Message.session_id == session_id)
            .order_by(Message.id)
        )
        session = await db.get_one(CheckinSession, session_id)
        return (list(turns), session.brain_state, session.version, session.state)


async def test_a_redelivered_event_is_processed_once(world: Engine) -> None:
    session_id = await delivered(world)
    await world.say("3", event="Ev1")
    assert await world.say("3", event="Ev1") == []
    assert await world.count(Message, session_id=session_id, speaker="member") == 1


async def test_a_message_with_nothing_open_gets_a_friendly_offer(world: Engine) -> None:
    await world.say("hello?")
    [(to, offer)] = world.channel.sent
    assert offer.text == f"{NOTHING_OPEN} {CAN_START}" and to.email == ANA
    assert await world.count(CheckinSession) == 0  # offered, not started
    assert await world.count(Message) == 0


async def test_an_offer_for_an_event_taken_again_is_sent_once(world: Engine) -> None:
    await world.say("hello?", event="Ev7")
    await world.say("hello?", event="Ev7")  # the inbox takes the event again after a crash
    [(_to, offer)] = world.channel.sent
    assert offer.text == f"{NOTHING_OPEN} {CAN_START}"


async def test_a_start_whose_worker_died_resumes_the_same_check_in(engine: AsyncEngine) -> None:
    brain = GatedOpeningBrain()
    world = build(engine, brain)
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    dying = asyncio.create_task(world.say("start", event="Ev1"))
    await brain.asked.wait()  # the on-demand session exists; its opening is being written
    dying.cancel()
    brain.gate.set()
    [reply] = await world.say("start", event="Ev1")  # the inbox takes the event again
    assert reply.text.startswith("Hi Ana!") and reply.text != ALREADY_DONE
    assert len(world.channel.sent) == 1
    assert await world.count(CheckinSession, state="delivered") == 1


async def test_a_start_taken_over_resumes_the_members_own_check_in(engine: AsyncEngine) -> None:
    """Another member's check-in of the same day is older in the table: the start taken
    over after a dead worker resumes Ana's, never Bo's."""
    brain = GatedOpeningBrain()
    world = build(engine, brain)
    async with world.sessions.begin() as db:
        org = await add_org(db)
        await add_member(db, org, "bo@acme.io", timezone="Europe/Berlin")
        await add_member(db, org, ANA, timezone="Europe/Berlin")
    bo = Sender(Provider.DEV, "acme", "bo@acme.io")
    brain.gate.set()
    await world.conversations.handle_message(IncomingMessage(bo, "start", event_id="Bo1"))
    brain.gate.clear()
    brain.asked.clear()
    dying = asyncio.create_task(world.say("start", event="Ev1"))
    await brain.asked.wait()
    dying.cancel()
    brain.gate.set()
    [reply] = await world.say("start", event="Ev1")
    assert reply.text.startswith("Hi Ana!")
    assert [to.email for to, _m in world.channel.sent] == ["bo@acme.io", ANA]
    assert await world.count(CheckinSession, state="delivered") == 2


async def test_start_opens_the_check_in_of_the_orgs_first_active_schedule(world: Engine) -> None:
    async with world.sessions.begin() as db:
        other = await add_org(db, "other")
        await add_schedule(db, other, "retro")  # another org's, and older
        org = await db.scalar(select(Organization).where(Organization.slug == "acme"))
        assert org is not None
        await add_schedule(db, org, "retro", active=False)  # paused
        await add_schedule(db, org, "pulse")
        pulse = await agent_id(db, "pulse")
    await world.say("start")
    async with world.sessions() as db:
        assert list(await db.scalars(select(CheckinSession.agent_id))) == [pulse]


async def test_start_leaves_other_members_check_ins_alone(world: Engine) -> None:
    """Bo's check-in today is planned for later, and his colleague Cy's is done: Ana's
    start opens her own, brings neither forward and is not refused for theirs."""
    async with world.sessions.begin() as db:
        org = await db.scalar(select(Organization))
        assert org is not None
        await add_member(db, org, "bo@acme.io", timezone="Europe/Berlin")
        await add_member(db, org, "cy@acme.io", timezone="Europe/Berlin")
    bos = await add_due_session(world.sessions, "bo@acme.io", due=NOW + timedelta(hours=2))
    cys = await add_due_session(world.sessions, "cy@acme.io", due=NOW - timedelta(hours=1))
    async with world.sessions.begin() as db:
        (await db.get_one(CheckinSession, cys)).state = "completed"
    [reply] = await world.say("start")
    assert reply.text.startswith("Hi Ana!")
    assert [to.email for to, _m in world.channel.sent] == [ANA]
    bo = await world.session(bos)
    assert (bo.state, bo.due_at) == ("scheduled", NOW + timedelta(hours=2))


async def test_start_opens_a_check_in_on_demand(world: Engine) -> None:
    [reply] = await world.say("start")
    assert reply.text.startswith("Hi Ana!") and len(reply.buttons) == 6
    assert await world.count(CheckinSession, state="delivered") == 1


async def test_an_unknown_sender_is_told_how_to_join(world: Engine) -> None:
    incoming = IncomingMessage(sender=Sender(Provider.DEV, "acme", "who@x.io"), text="hi")
    [reply] = await world.conversations.handle_message(incoming)
    assert reply.text == UNKNOWN_SENDER


async def test_a_failing_brain_hands_over_to_the_scripted_one(engine: AsyncEngine) -> None:
    world = build(engine, FallbackBrain(primary=DownBrain(), fallback=ScriptedBrain()))
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA)
    session_id = await delivered(world)
    await world.say("5")
    session = await world.session(session_id)
    assert session.brain_state["brain"] == "scripted" and session.brain_state["pending"] == "focus"
    assert await world.count(AiLog, outcome="error") == 1  # not retried once handed over


async def test_the_members_turn_is_kept_when_the_brain_crashes(engine: AsyncEngine) -> None:
    world = build(engine, BuggyBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA)
    session_id = await delivered(world)
    [apology] = await world.say("4", event="Ev9")
    assert apology.text == SNAG
    assert await world.count(Message, session_id=session_id, inbound_event_id="Ev9") == 1
    assert (await world.session(session_id)).brain_state["pending"] == "mood"


async def test_concurrent_turns_are_serialised(world: Engine) -> None:
    session_id = await delivered(world)
    await asyncio.gather(world.say("4", event="a"), world.say("Ship it", event="b"))
    session = await world.session(session_id)
    assert await world.count(Message, session_id=session_id, speaker="member") == 2
    # Whichever came first, the other was re-read against the newer state: "Ship it" is
    # never taken for a mood, and no turn is lost or doubled.
    assert session.brain_state["answers"] in ({"mood": 4, "focus": "Ship it"}, {"mood": 4})
    assert session.version == 3


async def edit(world: Engine, message_id: str, text: str) -> bool:
    sender = Sender(Provider.DEV, "acme", ANA)
    return await world.conversations.handle_edit(EditedMessage(sender, message_id, text))


async def test_editing_a_reply_corrects_the_answer(world: Engine) -> None:
    session_id = await delivered(world)
    sender = Sender(Provider.DEV, "acme", ANA)
    await world.conversations.handle_message(IncomingMessage(sender, "2", message_id="msg-1"))
    assert await edit(world, "msg-1", "5")
    assert (await world.session(session_id)).brain_state["answers"]["mood"] == 5


async def test_an_edit_racing_a_new_turn_loses_neither(world: Engine, db_url: str) -> None:
    """Two workers: one corrects "2" to "5" while the other takes the next answer. The
    edit read the session before the turn was saved and writes after it (its UPDATE is
    held on the wire): its version check makes it read again instead of overwriting."""
    session_id = await delivered(world)
    sender = Sender(Provider.DEV, "acme", ANA)
    await world.conversations.handle_message(IncomingMessage(sender, "2", message_id="msg-1"))
    other_engine = make_async_engine(db_url)
    other = core_parts(other_engine, ScriptedBrain(), FakeChannel(), world.clock)
    at_write, turn_saved = asyncio.Event(), asyncio.Event()

    def hold_the_first_session_update(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE CHECKIN_SESSIONS"):
            at_write.set()
            await_only(turn_saved.wait())

    event.listen(other_engine.sync_engine, "before_cursor_execute", hold_the_first_session_update)
    try:
        editing = asyncio.create_task(
            other.conversations.handle_edit(EditedMessage(sender, "msg-1", "5"))
        )
        await asyncio.wait_for(at_write.wait(), timeout=10)
        await world.say("Ship it")
        turn_saved.set()
        assert await asyncio.wait_for(editing, timeout=10)
    finally:
        await other_engine.dispose()
    answers = (await world.session(session_id)).brain_state["answers"]
    assert answers == {"mood": 5, "focus": "Ship it"}


async def test_editing_after_completion_corrects_the_dot(world: Engine) -> None:
    await delivered(world)
    sender = Sender(Provider.DEV, "acme", ANA)
    await world.say("3")
    await world.conversations.handle_message(IncomingMessage(sender, "Docs", message_id="f"))
    await world.say("none")
    assert await edit(world, "f", "Release notes")
    async with world.sessions() as db:
        focus = await db.scalar(select(Dot.text_value).where(Dot.key == "focus"))
    assert focus == "Release notes"


async def test_an_edit_changes_only_the_editors_own_turn(world: Engine) -> None:
    """Bo's reply has the same channel message id as Ana's (ids are per chat): Ana's edit
    corrects her answer, never his."""
    async with world.sessions.begin() as db:
        org = await db.scalar(select(Organization))
        assert org is not None
        await add_member(db, org, "bo@acme.io", timezone="Europe/Berlin")
    ana_session = await delivered(world)
    bo_session = await add_due_session(world.sessions, "bo@acme.io", due=NOW)
    await world.delivery.deliver_due(now=NOW)
    for email in ("bo@acme.io", ANA):  # Bo's first: an unscoped look-up would find his
        sender = Sender(Provider.DEV, "acme", email)
        await world.conversations.handle_message(IncomingMessage(sender, "2", message_id="m-1"))
    bo_before = await stored(world, bo_session)
    assert await edit(world, "m-1", "5")
    assert (await world.session(ana_session)).brain_state["answers"]["mood"] == 5
    assert await stored(world, bo_session) == bo_before


async def test_an_edit_from_someone_unknown_changes_nothing(world: Engine) -> None:
    session_id = await delivered(world)
    sender = Sender(Provider.DEV, "acme", ANA)
    await world.conversations.handle_message(IncomingMessage(sender, "2", message_id="m-1"))
    before = await stored(world, session_id)
    stranger = Sender(Provider.DEV, "acme", "who@x.io")
    assert not await world.conversations.handle_edit(EditedMessage(stranger, "m-1", "5"))
    assert await stored(world, session_id) == before


async def test_an_edit_of_an_unknown_message_changes_nothing(world: Engine) -> None:
    session_id = await delivered(world)
    sender = Sender(Provider.DEV, "acme", ANA)
    await world.conversations.handle_message(IncomingMessage(sender, "2", message_id="msg-1"))
    before, sent = await stored(world, session_id), len(world.channel.sent)
    assert not await edit(world, "never-seen", "5")
    assert await stored(world, session_id) == before
    assert len(world.channel.sent) == sent


@pytest.mark.parametrize("opted_in", [False, True])
async def test_ai_logs_keep_text_only_for_orgs_that_opted_in(
    engine: AsyncEngine, opted_in: bool
) -> None:
    world = build(engine, LoggingBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db, store_ai_text=opted_in), ANA)
    await delivered(world)
    await world.say("4")
    async with world.sessions() as db:
        log = await db.scalar(select(AiLog))
    assert log is not None and log.tokens_in == 50
    assert log.prompt_text == ("the member's words" if opted_in else None)


async def test_start_after_todays_check_in_says_it_is_done(world: Engine) -> None:
    await world.say("start")
    for answer in ("4", "Docs", "none"):
        await world.say(answer)
    [reply] = await world.say("start")
    assert reply.text.startswith(ALREADY_DONE)


async def test_today_is_the_members_own_day_when_it_says_done(engine: AsyncEngine) -> None:
    """09:00 UTC is still yesterday in Honolulu: today's check-in is that day's."""
    world = build(engine, ScriptedBrain())
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Pacific/Honolulu")
    await world.say("start")
    for answer in ("4", "Docs", "none"):
        await world.say(answer)
    [reply] = await world.say("start")
    assert reply.text.startswith(ALREADY_DONE)
    async with world.sessions() as db:
        assert list(await db.scalars(select(CheckinSession.local_date))) == [date(2026, 11, 24)]


async def test_start_brings_todays_planned_check_in_forward(world: Engine) -> None:
    session_id = await add_due_session(world.sessions, ANA, due=NOW + timedelta(hours=2))
    [reply] = await world.say("start")
    assert reply.text.startswith("Hi Ana!") and len(world.channel.sent) == 1
    session = await world.session(session_id)
    assert (session.state, session.due_at) == ("delivered", NOW)
    assert await world.count(CheckinSession) == 1


async def test_start_for_a_member_no_chat_reaches_answers_with_the_opening(
    engine: AsyncEngine,
) -> None:
    world = build(engine, ScriptedBrain())
    world.channel.reachable = False
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA)
    [reply] = await world.say("start")
    assert reply.text.startswith("Hi Ana!") and reply.session_id is not None
    assert world.channel.sent == []  # the opening waits for the email reminder
    async with world.sessions() as db:
        session = await db.scalar(select(CheckinSession))
    assert session is not None and (session.state, session.channel) == ("delivered", "email")
    assert reply.session_id == session.id


async def test_planning_leaves_out_a_day_already_checked_in_on_demand(world: Engine) -> None:
    async with world.sessions.begin() as db:
        org = await db.scalar(select(Organization))
        assert org is not None
        await add_schedule(db, org, local_time=time(11))
    await world.say("start")
    grace = timedelta(hours=2)
    created = await plan_sessions(sessions=world.sessions, now=NOW, grace=grace)
    async with world.sessions() as db:
        dates = list(await db.scalars(select(CheckinSession.local_date)))
    assert NOW.date() not in dates[1:] and created == len(dates) - 1

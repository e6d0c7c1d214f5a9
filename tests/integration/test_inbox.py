"""The durable inbox on both databases: stored once, taken once, in order, retried."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.conversation import UNKNOWN_SENDER
from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.inbox import MAX_ATTEMPTS, Inbox
from core.scripted_brain import ScriptedBrain
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import InboundEvent, Message
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_member, add_org
from tests.integration.test_conversation import ANA, NOW, Engine, build, delivered


def said(text: str, *, user: str = ANA, event: str | None = None, ts: str | None = None):
    sender = Sender(Provider.DEV, "acme", user)
    return IncomingMessage(sender=sender, text=text, event_id=event, message_id=ts)


@dataclass
class Recorder:
    """Stands in for Conversations: records the turns it is given, fails on request."""

    taken: list[tuple[str, str]] = field(default_factory=list)  # (user, text) in time order
    failing: set[str] = field(default_factory=set)

    async def handle_message(self, incoming: IncomingMessage) -> list[object]:
        await asyncio.sleep(0.005)  # let the other worker run meanwhile
        self.taken.append((incoming.sender.user, incoming.text))
        if incoming.text in self.failing:
            raise RuntimeError(f"broken by {incoming.text}")  # its text must not be logged
        return []

    async def handle_edit(self, edited: EditedMessage) -> bool:
        self.taken.append((edited.sender.user, f"edit:{edited.text}"))
        return True


def inbox_on(engine: AsyncEngine, recorder: Recorder) -> Inbox:
    sessions = make_sessionmaker(engine)
    return Inbox(sessions=sessions, conversations=recorder, clock=FakeClock(NOW))  # type: ignore[arg-type]


async def drain_all(inbox: Inbox, *, limit: int = 50, rounds: int = 200) -> None:
    """Drain until nothing is pending (another worker may hold claims meanwhile)."""
    for _ in range(rounds):
        if not await inbox.drain(now=NOW, limit=limit) and not await pending(inbox):
            return
        await asyncio.sleep(0.001)


async def pending(inbox: Inbox) -> int:
    async with inbox.sessions() as db:
        query = select(func.count()).where(InboundEvent.processed_at.is_(None))
        return int(await db.scalar(query) or 0)


async def rows(engine: AsyncEngine) -> list[InboundEvent]:
    async with make_sessionmaker(engine)() as db:
        return list(await db.scalars(select(InboundEvent).order_by(InboundEvent.id)))


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[tuple[Engine, Inbox]]:
    built = build(engine, ScriptedBrain())
    async with built.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    inbox = Inbox(sessions=built.sessions, conversations=built.conversations, clock=built.clock)
    yield built, inbox


async def test_accept_stores_an_event_id_once(engine: AsyncEngine) -> None:
    inbox = inbox_on(engine, Recorder())
    assert await inbox.accept(said("4", event="Ev1")) is True
    assert await inbox.accept(said("4", event="Ev1")) is False  # Slack's redelivery
    assert await inbox.accept(said("4", ts="D1:1.0")) is True  # no event id: derived
    assert await inbox.accept(said("4", ts="D1:1.0")) is False
    edit = EditedMessage(Sender(Provider.DEV, "acme", ANA), "D1:1.0", "5")
    assert await inbox.accept(edit) is True and await inbox.accept(edit) is False
    assert [(r.kind, r.attempts, r.processed_at) for r in await rows(engine)] == [
        ("message", 0, None),
        ("message", 0, None),
        ("edit", 0, None),
    ]


async def test_drain_takes_a_turn_once_and_the_member_gets_the_reply(
    world: tuple[Engine, Inbox], engine: AsyncEngine
) -> None:
    built, inbox = world
    await delivered(built)
    assert await inbox.accept(said("4", event="Ev1"))
    assert await inbox.drain(now=NOW) == 1
    assert await inbox.drain(now=NOW) == 0
    texts = [m.text for _to, m in built.channel.sent]
    assert len(texts) == 2 and "focus" in texts[1].lower()
    assert await built.count(Message, speaker="member") == 1
    [row] = await rows(engine)
    assert row.processed_at == NOW and row.attempts == 1 and row.last_error is None


async def test_an_unknown_sender_is_told_through_the_channel(world: tuple[Engine, Inbox]) -> None:
    built, inbox = world
    await inbox.accept(said("hi", user="who@x.io", event="Ev1"))
    await inbox.drain(now=NOW)
    [(to, message)] = built.channel.sent
    assert message.text == UNKNOWN_SENDER and to.member_id == 0 and to.org_id > 0


async def test_two_workers_take_each_event_once_in_order(db_url: str) -> None:
    engines = [make_async_engine(db_url), make_async_engine(db_url)]
    recorders = [Recorder(), Recorder()]
    inboxes = [inbox_on(e, r) for e, r in zip(engines, recorders, strict=True)]
    users = [f"u{n}" for n in range(12)]
    for turn in range(3):
        for user in users:
            await inboxes[0].accept(said(f"{user}-{turn}", user=user, event=f"{user}-{turn}"))
    await asyncio.gather(*(drain_all(i, limit=3) for i in inboxes))
    taken = recorders[0].taken + recorders[1].taken
    assert Counter(taken) == Counter((u, f"{u}-{t}") for u in users for t in range(3))
    for recorder in recorders:  # one member's turns never overtake one another
        for user in users:
            mine = [text for who, text in recorder.taken if who == user]
            assert mine == sorted(mine)
    assert all(r.processed_at is not None for r in await rows(engines[0]))
    for engine in engines:
        await engine.dispose()


async def test_one_members_events_are_taken_one_at_a_time_in_order(engine: AsyncEngine) -> None:
    recorder = Recorder()
    inbox = inbox_on(engine, recorder)
    for n in range(3):
        await inbox.accept(said(f"ana-{n}", event=f"a{n}"))
    await inbox.accept(said("bo-0", user="bo", event="b0"))
    assert await inbox.drain(now=NOW, limit=2) == 2
    assert sorted(recorder.taken) == [(ANA, "ana-0"), ("bo", "bo-0")]  # the oldest of each
    await drain_all(inbox)
    assert [text for who, text in recorder.taken if who == ANA] == ["ana-0", "ana-1", "ana-2"]


async def test_a_failing_event_is_retried_then_given_up(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(failing={"secret words"})
    inbox = inbox_on(engine, recorder)
    await inbox.accept(said("secret words", event="Ev1"))
    await inbox.accept(said("later", event="Ev2"))  # waits behind the failing one
    await drain_all(inbox)
    assert recorder.taken == [(ANA, "secret words")] * MAX_ATTEMPTS + [(ANA, "later")]
    failed, later = await rows(engine)
    assert failed.attempts == MAX_ATTEMPTS and failed.processed_at == NOW
    assert failed.last_error == "RuntimeError" and later.last_error is None
    assert "given up" in caplog.text and "secret" not in caplog.text


async def test_a_claim_left_by_a_crashed_worker_is_taken_again(engine: AsyncEngine) -> None:
    recorder = Recorder()
    inbox = inbox_on(engine, recorder)
    await inbox.accept(said("4", event="Ev1"))
    await inbox._claim(now=NOW, limit=10)  # a worker claimed it, then died
    assert await inbox.drain(now=NOW + timedelta(minutes=1)) == 0
    assert await inbox.drain(now=NOW + timedelta(minutes=3)) == 1
    assert recorder.taken == [(ANA, "4")]
    [row] = await rows(engine)
    assert row.attempts == 2 and row.processed_at is not None


async def test_an_edit_goes_through_the_inbox(world: tuple[Engine, Inbox]) -> None:
    built, inbox = world
    await delivered(built)
    await inbox.accept(said("2", event="Ev1", ts="D1:1.0"))
    edit = EditedMessage(Sender(Provider.DEV, "acme", ANA), "D1:1.0", "5", event_id="Ev2")
    await inbox.accept(edit)
    await drain_all(inbox)
    async with built.sessions() as db:
        turn = await db.scalar(select(Message).where(Message.inbound_event_id == "Ev1"))
    assert turn is not None and turn.text == "5"


async def test_accepts_within_a_window_share_one_insert(engine: AsyncEngine) -> None:
    inbox = Inbox(
        sessions=make_sessionmaker(engine),
        conversations=Recorder(),  # type: ignore[arg-type]
        clock=FakeClock(NOW),
        accept_window=0.02,
    )
    items = [said("1", event="Ev1"), said("2", event="Ev2"), said("1", event="Ev1")]
    assert await asyncio.gather(*(inbox.accept(i) for i in items)) == [True, True, False]
    assert await inbox.accept(said("2", event="Ev2")) is False
    assert [r.event_id for r in await rows(engine)] == ["Ev1", "Ev2"]

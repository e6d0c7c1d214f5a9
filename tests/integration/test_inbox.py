"""The durable inbox on both databases: stored once, taken once, in order, retried."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.backoff import Backoff
from core.conversation import GIVEN_UP, UNKNOWN_SENDER
from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.inbox import Inbox
from core.ports import DeliveryError
from core.scripted_brain import ScriptedBrain
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import InboundEvent, Message, OutboxMessage
from tests.fakes.brain import BuggyBrain, CrowdBrain, GatedBrain
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_due_session, add_member, add_org
from tests.faults import inserts_refused
from tests.integration.test_conversation import (
    ANA,
    NOW,
    Engine,
    build,
    delivered,
    delivered_on,
)

BACKOFF = Backoff(max_attempts=5, give_up_after=timedelta(minutes=30))


def said(text: str, *, user: str = ANA, event: str | None = None, ts: str | None = None):
    sender = Sender(Provider.DEV, "acme", user)
    return IncomingMessage(sender=sender, text=text, event_id=event, message_id=ts)


@dataclass
class Recorder:
    """Stands in for Conversations: records the turns it is given, fails on request."""

    taken: list[tuple[str, str]] = field(default_factory=list)  # (user, text) in time order
    failing: set[str] = field(default_factory=set)
    told: list[str] = field(default_factory=list)

    async def handle_message(self, incoming: IncomingMessage, *, apologise: bool) -> list[object]:
        await asyncio.sleep(0.005)  # let the other worker run meanwhile
        self.taken.append((incoming.sender.user, incoming.text))
        if incoming.text in self.failing:
            raise RuntimeError(f"broken by {incoming.text}")  # its text must not be logged
        return []

    async def handle_edit(self, edited: EditedMessage) -> bool:
        self.taken.append((edited.sender.user, f"edit:{edited.text}"))
        return True

    async def could_not_process(self, sender: Sender, *, event_id: str) -> None:
        self.told.append(event_id)


def inbox_on(engine: AsyncEngine, recorder: Recorder, clock: FakeClock | None = None) -> Inbox:
    return Inbox(
        sessions=make_sessionmaker(engine),
        conversations=recorder,  # type: ignore[arg-type]
        clock=clock or FakeClock(NOW),
        backoff=BACKOFF,
    )


async def drain_all(inbox: Inbox, *, limit: int = 50, rounds: int = 200) -> None:
    """Drain until nothing is pending (another worker may hold claims meanwhile); a
    backed-off event is waited for by moving the inbox's clock to its time."""
    for _ in range(rounds):
        if not await inbox.drain(limit=limit) and not await pending(inbox):
            return
        await wait_out_back_off(inbox)
        await asyncio.sleep(0.001)


async def wait_out_back_off(inbox: Inbox) -> None:
    async with inbox.sessions() as db:
        soonest = await db.scalar(
            select(func.min(InboundEvent.next_attempt_at)).where(
                InboundEvent.processed_at.is_(None),
                InboundEvent.next_attempt_at > inbox.clock.now(),
            )
        )
    if soonest is not None and isinstance(inbox.clock, FakeClock):
        inbox.clock.current = soonest


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
    inbox = Inbox(
        sessions=built.sessions,
        conversations=built.conversations,
        clock=built.clock,
        backoff=BACKOFF,
    )
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
    assert await inbox.drain() == 1
    assert await inbox.drain() == 0
    texts = [m.text for _to, m in built.channel.sent]
    assert len(texts) == 2 and "focus" in texts[1].lower()
    assert await built.count(Message, speaker="member") == 1
    [row] = await rows(engine)
    assert row.processed_at == NOW and row.attempts == 1 and row.last_error is None


async def test_an_unknown_sender_is_told_through_the_channel(world: tuple[Engine, Inbox]) -> None:
    built, inbox = world
    await inbox.accept(said("hi", user="who@x.io", event="Ev1"))
    await inbox.drain()
    [(to, message)] = built.channel.sent
    assert message.text == UNKNOWN_SENDER and to.member_id == 0 and to.org_id > 0


@dataclass
class SharedTimeline(Recorder):
    """A Recorder that also writes when each turn began and ended on a timeline shared
    with the other worker's: one global sequence to check the order across workers."""

    timeline: list[tuple[str, str, str]] = field(default_factory=list)

    async def handle_message(self, incoming: IncomingMessage, *, apologise: bool) -> list[object]:
        self.timeline.append(("begin", incoming.sender.user, incoming.text))
        try:
            return await super().handle_message(incoming, apologise=apologise)
        finally:
            self.timeline.append(("end", incoming.sender.user, incoming.text))


async def test_two_workers_take_each_event_once_in_order(db_url: str) -> None:
    engines = [make_async_engine(db_url), make_async_engine(db_url)]
    timeline: list[tuple[str, str, str]] = []
    recorders = [SharedTimeline(timeline=timeline), SharedTimeline(timeline=timeline)]
    inboxes = [inbox_on(e, r) for e, r in zip(engines, recorders, strict=True)]
    users = [f"u{n}" for n in range(12)]
    for user in users:  # each member's turns side by side: a batch could take them all
        for turn in range(3):
            await inboxes[0].accept(said(f"{user}-{turn}", user=user, event=f"{user}-{turn}"))
    await asyncio.gather(*(drain_all(i, limit=3) for i in inboxes))
    taken = recorders[0].taken + recorders[1].taken
    assert Counter(taken) == Counter((u, f"{u}-{t}") for u in users for t in range(3))
    assert all(recorder.taken for recorder in recorders)  # both workers took turns
    for user in users:  # across both workers, one member's turns run one after another
        mine = [(step, text) for step, who, text in timeline if who == user]
        turns = [f"{user}-{t}" for t in range(3)]
        assert mine == [(step, text) for text in turns for step in ("begin", "end")]
    assert all(r.processed_at is not None for r in await rows(engines[0]))
    for engine in engines:
        await engine.dispose()


async def test_one_members_events_are_taken_one_at_a_time_in_order(engine: AsyncEngine) -> None:
    recorder = Recorder()
    inbox = inbox_on(engine, recorder)
    for n in range(3):
        await inbox.accept(said(f"ana-{n}", event=f"a{n}"))
    await inbox.accept(said("bo-0", user="bo", event="b0"))
    assert await inbox.drain(limit=2) == 2
    assert sorted(recorder.taken) == [(ANA, "ana-0"), ("bo", "bo-0")]  # the oldest of each
    await drain_all(inbox)
    assert [text for who, text in recorder.taken if who == ANA] == ["ana-0", "ana-1", "ana-2"]


async def test_a_failing_event_is_retried_then_given_up_and_later_ones_go_on(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(failing={"secret words"})
    inbox = inbox_on(engine, recorder)
    await inbox.accept(said("secret words", event="Ev1"))
    await inbox.accept(said("later", event="Ev2"))  # waits behind the failing one
    await drain_all(inbox)
    tries = BACKOFF.max_attempts
    assert recorder.taken == [(ANA, "secret words")] * tries + [(ANA, "later")]
    failed, later = await rows(engine)
    assert failed.attempts == tries and failed.given_up and failed.processed_at is not None
    assert failed.last_error == "RuntimeError" and later.last_error is None
    assert not later.given_up
    assert recorder.told == ["Ev1"]  # the member is told once, of the given-up event only
    assert "given up" in caplog.text and "secret" not in caplog.text


async def test_a_failed_event_waits_out_a_growing_jittered_back_off(engine: AsyncEngine) -> None:
    clock = FakeClock(NOW)
    inbox = inbox_on(engine, Recorder(failing={"boom"}), clock)
    await inbox.accept(said("boom", event="Ev1"))
    waits = []
    for attempt in range(1, 4):
        assert await inbox.drain() == 1
        [row] = await rows(engine)
        assert row.attempts == attempt and row.processed_at is None
        wait = row.next_attempt_at - clock.now()
        ceiling = BACKOFF.first * 2 ** (attempt - 1)
        assert ceiling / 2 <= wait <= ceiling
        clock.advance(wait - timedelta(milliseconds=1))
        assert await inbox.drain() == 0  # not before its time
        clock.advance(timedelta(milliseconds=1))
        waits.append(wait)
    assert waits == sorted(waits)


async def test_an_event_is_given_up_once_its_time_is_up(engine: AsyncEngine) -> None:
    clock = FakeClock(NOW)
    recorder = Recorder(failing={"boom"})
    inbox = inbox_on(engine, recorder, clock)
    await inbox.accept(said("boom", event="Ev1"))
    assert await inbox.drain() == 1
    clock.advance(BACKOFF.give_up_after)
    assert await inbox.drain() == 1
    [row] = await rows(engine)
    assert row.given_up and row.attempts == 2 and recorder.told == ["Ev1"]


async def test_a_claim_left_by_a_crashed_worker_is_taken_again(engine: AsyncEngine) -> None:
    recorder = Recorder()
    clock = FakeClock(NOW)
    inbox = inbox_on(engine, recorder, clock)
    await inbox.accept(said("4", event="Ev1"))
    await inbox._claim(limit=10)  # a worker claimed it, then died
    clock.advance(timedelta(minutes=1))
    assert await inbox.drain() == 0
    clock.advance(timedelta(minutes=2))
    assert await inbox.drain() == 1
    assert recorder.taken == [(ANA, "4")]
    [row] = await rows(engine)
    assert row.attempts == 2 and row.processed_at is not None


async def test_processed_events_are_purged_after_the_retention_in_batches(
    engine: AsyncEngine,
) -> None:
    clock = FakeClock(NOW)
    inbox = inbox_on(engine, Recorder(), clock)
    for n in range(5):
        await inbox.accept(said(str(n), user=f"u{n}", event=f"Ev{n}"))
    await inbox.drain(limit=3)
    await inbox.accept(said("new", event="Ev9"))
    assert await inbox.purge(before=NOW, batch=10) == 0  # processed at NOW: not before
    assert await inbox.purge(before=NOW + timedelta(seconds=1), batch=2) == 2
    assert await inbox.purge(before=NOW + timedelta(seconds=1), batch=2) == 1
    assert [r.event_id for r in await rows(engine)] == ["Ev3", "Ev4", "Ev9"]  # pending kept


async def test_turns_waiting_on_the_model_do_not_hold_back_other_members(
    engine: AsyncEngine,
) -> None:
    brain = CrowdBrain(30)
    built = build(engine, brain)
    emails = [f"m{n}@acme.io" for n in range(30)]
    async with built.sessions.begin() as db:
        org = await add_org(db)
        for email in emails:
            await add_member(db, org, email)
    for email in emails:
        await add_due_session(built.sessions, email, due=NOW)
    await built.delivery.deliver_due(now=NOW)
    inbox = Inbox(sessions=built.sessions, conversations=built.conversations, clock=built.clock)
    for n, email in enumerate(emails):
        await inbox.accept(said("4", user=email, event=f"Ev{n}"))
    assert await inbox.drain(limit=None) == 30
    assert brain.most_in_flight == 30  # every member's turn waited on the model at once
    assert await built.count(Message, speaker="agent") == 60  # 30 openings, 30 replies


async def test_a_turn_whose_worker_died_before_the_agent_answered_is_taken_over(
    engine: AsyncEngine,
) -> None:
    brain = GatedBrain()
    built = await delivered_on(engine, brain)
    inbox = Inbox(sessions=built.sessions, conversations=built.conversations, clock=built.clock)
    await inbox.accept(said("4", event="Ev1"))
    dying = asyncio.create_task(inbox.drain())
    await brain.asked.wait()  # the member's turn is stored; the model is being asked
    dying.cancel()  # the worker dies
    assert await built.count(Message, inbound_event_id="Ev1") == 1
    brain.gate.set()
    built.clock.advance(timedelta(minutes=3))
    assert await inbox.drain() == 1
    assert await built.count(Message, inbound_event_id="Ev1") == 1  # stored once
    replies = built.channel.texts_to(1)[1:]
    assert len(replies) == 1 and "focus" in replies[0].lower()  # answered once
    [row] = await rows(engine)
    assert row.processed_at is not None and not row.given_up


async def test_a_reply_recorded_by_a_dead_worker_is_sent_not_decided_again(
    world: tuple[Engine, Inbox], engine: AsyncEngine
) -> None:
    built, inbox = world
    await delivered(built)
    await inbox.accept(said("4", event="Ev1"))
    built.channel.gate = asyncio.Event()
    dying = asyncio.create_task(inbox.drain())
    await built.channel.at_gate.wait()  # the reply is being sent when the worker dies
    dying.cancel()
    async with built.sessions() as db:
        reply = await db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
    assert reply is not None and reply.status == "sending"
    built.channel.gate.set()
    built.clock.advance(timedelta(minutes=3))  # the claims time out; a new worker drains
    assert await inbox.drain() == 1
    assert await built.count(Message, speaker="agent") == 2  # the opening and one reply
    assert len(built.channel.texts_to(1)) == 2
    assert await built.count(OutboxMessage, status="sent") == 2


async def test_a_reply_that_failed_to_send_is_retried_by_the_outbox(
    world: tuple[Engine, Inbox], engine: AsyncEngine
) -> None:
    built, inbox = world
    await delivered(built)
    await inbox.accept(said("4", event="Ev1"))
    built.channel.failures.append(DeliveryError("Slack is down", retryable=True))
    assert await inbox.drain() == 1
    [row] = await rows(engine)
    assert row.processed_at is not None  # the turn is done; its reply waits in the outbox
    assert len(built.channel.texts_to(1)) == 1
    assert await built.outbox.send_due() == 0  # backing off
    built.clock.advance(timedelta(minutes=1))
    assert await built.outbox.send_due() == 1
    assert len(built.channel.texts_to(1)) == 2
    assert await built.count(OutboxMessage, status="sent") == 2


async def test_a_member_whose_message_is_given_up_is_told_once(engine: AsyncEngine) -> None:
    built = await delivered_on(engine, BuggyBrain())
    inbox = Inbox(
        sessions=built.sessions,
        conversations=built.conversations,
        clock=built.clock,
        backoff=BACKOFF,
    )
    await inbox.accept(said("4", event="Ev1"))
    await drain_all(inbox)
    texts = built.channel.texts_to(1)
    assert texts.count(GIVEN_UP) == 1 and len(texts) == 2  # the opening, then the notice
    assert await built.count(Message, inbound_event_id="Ev1") == 1  # the answer is kept


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


async def test_group_commit_shares_inserts_among_events_accepted_meanwhile(
    engine: AsyncEngine,
) -> None:
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO inbound_events"):
            inserts.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    inbox = Inbox(
        sessions=make_sessionmaker(engine),
        conversations=Recorder(),  # type: ignore[arg-type]
        clock=FakeClock(NOW),
        accept_window=0,
    )
    items = [said(str(n), user=f"u{n}", event=f"Ev{n}") for n in range(10)]
    assert await asyncio.gather(*(inbox.accept(i) for i in items)) == [True] * 10
    assert len(inserts) == 1  # all ten were accepted before the first INSERT could start
    assert len(await rows(engine)) == 10
    assert await inbox.accept(said("0", user="u0", event="Ev0")) is False


async def test_an_event_whose_workers_keep_dying_is_given_up_and_the_member_told(
    engine: AsyncEngine,
) -> None:
    clock = FakeClock(NOW)
    recorder = Recorder()
    inbox = inbox_on(engine, recorder, clock)
    await inbox.accept(said("4", event="Ev1"))
    for _ in range(BACKOFF.max_attempts):  # each claimant dies before finishing
        assert len(await inbox._claim(limit=1)) == 1
        clock.advance(timedelta(minutes=3))
    assert await inbox.drain() == 1
    [row] = await rows(engine)
    assert row.given_up and row.last_error == "AbandonedEvent"
    assert recorder.taken == [] and recorder.told == ["Ev1"]


async def test_events_without_ids_are_told_apart_and_a_resend_is_not(engine: AsyncEngine) -> None:
    """A channel that gives no event id: the id derived from the event keeps two different
    messages (same words, or no message id) apart, and an edit apart from its message."""
    inbox = inbox_on(engine, Recorder())
    ana = Sender(Provider.DEV, "acme", ANA)
    different = [said("4", ts="m1"), said("4", ts="m2"), said("5"), said("6"),
                 EditedMessage(ana, "m1", "4")]  # fmt: skip
    for item in different:
        assert await inbox.accept(item)
    assert not await inbox.accept(said("4", ts="m1"))  # the same message, sent again
    assert not await inbox.accept(said("5"))
    assert [(r.kind, r.text) for r in await rows(engine)] == [
        ("message", "4"),
        ("message", "4"),
        ("message", "5"),
        ("message", "6"),
        ("edit", "4"),
    ]


async def test_a_group_commit_that_fails_fails_every_accept_waiting_on_it(
    engine: AsyncEngine,
) -> None:
    """The chat must not be acknowledged: each waiting accept raises, none hangs."""
    inbox = Inbox(
        sessions=make_sessionmaker(engine),
        conversations=Recorder(),  # type: ignore[arg-type]
        clock=FakeClock(NOW),
        accept_window=0.02,
    )
    items = [said("1", event="Ev1"), said("2", event="Ev2")]
    async with inserts_refused(engine, "inbound_events"):
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(inbox.accept(i) for i in items), return_exceptions=True), 10
        )
    assert all(isinstance(outcome, Exception) for outcome in outcomes)
    assert await rows(engine) == []
    assert await inbox.accept(said("1", event="Ev1")) is True  # stored once it works again

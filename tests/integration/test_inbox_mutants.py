"""The inbox's routes and endings the surviving mutants showed untested (see
docs/mutation.md): typed chats, an idle worker, edits and notices that fail."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.inbox import Inbox
from core.store.engine import make_sessionmaker
from tests.fakes.clock import FakeClock
from tests.integration.test_inbox import (
    ANA,
    BACKOFF,
    NOW,
    Recorder,
    drain_all,
    inbox_on,
    rows,
    said,
)


def inbox_with(
    engine: AsyncEngine, recorder: Recorder, clock: FakeClock | None = None, **options: Any
) -> Inbox:
    """An inbox with its own defaults (back-off, concurrency) but for the options named."""
    return Inbox(
        sessions=make_sessionmaker(engine),
        conversations=recorder,  # type: ignore[arg-type]
        clock=clock or FakeClock(NOW),
        **options,
    )


@dataclass
class TypedRecorder:
    """Stands in for TypedChat: records the messages it is given."""

    taken: list[str] = field(default_factory=list)

    async def handle(self, incoming: IncomingMessage, *, apologise: bool) -> None:
        assert apologise is False  # the inbox retries; it never apologises at once
        self.taken.append(incoming.text)


class FailingEdits(Recorder):
    async def handle_edit(self, edited: EditedMessage) -> bool:
        raise RuntimeError("the correction cannot be applied")


class UntellableRecorder(Recorder):
    async def could_not_process(self, sender: Sender, *, event_id: str) -> None:
        raise RuntimeError("the chat is down")


async def test_a_typed_chats_messages_go_to_its_typed_chat_and_others_to_the_engine(
    engine: AsyncEngine,
) -> None:
    recorder, typed = Recorder(), TypedRecorder()
    inbox = inbox_with(engine, recorder, typed={Provider.TEAMS: typed})
    teams = Sender(Provider.TEAMS, "tenant", "aad-1")
    await inbox.accept(IncomingMessage(sender=teams, text="skip", event_id="T1"))
    await inbox.accept(said("4", event="D1"))
    await drain_all(inbox)
    assert typed.taken == ["skip"] and recorder.taken == [(ANA, "4")]


async def test_a_worker_left_idling_takes_an_event_that_arrives_later(
    engine: AsyncEngine,
) -> None:
    recorder = Recorder()
    inbox = inbox_on(engine, recorder)
    worker = asyncio.create_task(inbox.drain(limit=None, idle=0.01))
    try:
        await asyncio.sleep(0.05)  # nothing pending: the worker keeps looking
        assert not worker.done()
        await inbox.accept(said("4", event="Ev1"))
        for _ in range(500):
            if recorder.taken:
                break
            await asyncio.sleep(0.01)
    finally:  # the worker stops before the test's database goes
        worker.cancel()
        await asyncio.wait({worker})
    assert recorder.taken == [(ANA, "4")]


async def test_an_edit_given_up_leaves_the_answer_and_tells_the_member_nothing(
    engine: AsyncEngine,
) -> None:
    recorder = FailingEdits()
    inbox = inbox_on(engine, recorder)
    await inbox.accept(EditedMessage(Sender(Provider.DEV, "acme", ANA), "m1", "5", event_id="E1"))
    await drain_all(inbox)
    [row] = await rows(engine)
    assert row.given_up and row.attempts == BACKOFF.max_attempts
    assert recorder.told == []


async def test_a_notice_that_cannot_be_sent_still_gives_the_event_up_and_later_ones_go_on(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = UntellableRecorder(failing={"boom"})
    inbox = inbox_on(engine, recorder)
    await inbox.accept(said("boom", event="Ev1"))
    await inbox.accept(said("later", event="Ev2"))
    await drain_all(inbox)
    failed, later = await rows(engine)
    assert failed.given_up and later.processed_at is not None and not later.given_up
    assert recorder.taken[-1] == (ANA, "later")
    assert "could not tell the member" in caplog.text


async def test_flush_returns_once_every_accepted_event_is_stored(engine: AsyncEngine) -> None:
    """A graceful shutdown: accepts still waiting for their group's INSERT are stored."""
    inbox = inbox_with(engine, Recorder(), accept_window=0.05)
    accepting = [asyncio.create_task(inbox.accept(said(str(n), event=f"Ev{n}"))) for n in range(3)]
    await asyncio.sleep(0)  # each accept is waiting for the window to close
    await inbox.flush()
    assert [row.event_id for row in await rows(engine)] == ["Ev0", "Ev1", "Ev2"]
    assert await asyncio.gather(*accepting) == [True, True, True]


@dataclass
class CountingRecorder(Recorder):
    """Records how many turns were under way at once."""

    running: int = 0
    most_running: int = 0

    async def handle_message(self, incoming: IncomingMessage, *, apologise: bool) -> list[object]:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            return await super().handle_message(incoming, apologise=apologise)
        finally:
            self.running -= 1


async def test_no_more_turns_run_at_once_than_the_inboxs_concurrency(engine: AsyncEngine) -> None:
    recorder = CountingRecorder()
    inbox = inbox_with(engine, recorder, concurrency=3)
    for n in range(9):
        await inbox.accept(said(str(n), user=f"m{n}@acme.io", event=f"Ev{n}"))
    assert await inbox.drain(limit=None) == 9
    assert len(recorder.taken) == 9
    assert recorder.most_running == 3


@dataclass
class HeldRecorder(Recorder):
    """Holds the turn of one text until the test lets it go (a slow model call)."""

    held: str = "slow"
    release: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_message(self, incoming: IncomingMessage, *, apologise: bool) -> list[object]:
        if incoming.text == self.held:
            self.started.set()
            await self.release.wait()
        return await super().handle_message(incoming, apologise=apologise)


async def test_a_turn_held_up_does_not_hold_back_the_others_when_every_slot_is_taken(
    engine: AsyncEngine,
) -> None:
    recorder = HeldRecorder()
    inbox = inbox_with(engine, recorder, concurrency=2)
    await inbox.accept(said("slow", user="held@acme.io", event="Ev0"))
    for n in range(1, 5):
        await inbox.accept(said(str(n), user=f"m{n}@acme.io", event=f"Ev{n}"))
    draining = asyncio.create_task(inbox.drain(limit=None))
    try:
        for _ in range(500):  # the other four go through the one free slot meanwhile
            if len(recorder.taken) == 4:
                break
            await asyncio.sleep(0.01)
        assert sorted(text for _who, text in recorder.taken) == ["1", "2", "3", "4"]
    finally:
        recorder.release.set()
        await draining
    assert len(recorder.taken) == 5


@pytest.mark.parametrize(
    "other",
    [Sender(Provider.DEV, "globex", ANA), Sender(Provider.SLACK, "acme", ANA)],
    ids=["another workspace", "another chat"],
)
async def test_the_same_user_id_elsewhere_is_another_sender_and_does_not_wait(
    engine: AsyncEngine, other: Sender
) -> None:
    recorder = Recorder(failing={"boom"})
    inbox = inbox_on(engine, recorder)
    await inbox.accept(said("boom", event="Ev1"))  # Ana's, backing off after its first try
    await inbox.accept(IncomingMessage(sender=other, text="4", event_id="Ev2"))
    assert await inbox.drain() == 2
    assert recorder.taken == [(ANA, "boom"), (ANA, "4")]


async def test_by_default_a_failing_event_is_tried_ten_times_then_given_up(
    engine: AsyncEngine,
) -> None:
    recorder = Recorder(failing={"boom"})
    inbox = inbox_with(engine, recorder)
    await inbox.accept(said("boom", event="Ev1"))
    await drain_all(inbox)  # ten tries fit in well under half an hour of back-off
    [row] = await rows(engine)
    assert (row.attempts, row.given_up) == (10, True)


async def test_by_default_an_event_first_tried_half_an_hour_late_is_given_up_at_once(
    engine: AsyncEngine,
) -> None:
    clock = FakeClock(NOW)
    recorder = Recorder(failing={"boom"})
    inbox = inbox_with(engine, recorder, clock)
    await inbox.accept(said("boom", event="Ev1"))
    clock.advance(timedelta(minutes=30))  # no worker ran meanwhile
    assert await inbox.drain() == 1
    [row] = await rows(engine)
    assert (row.attempts, row.given_up) == (1, True)


async def test_a_drain_takes_no_more_events_than_its_limit(engine: AsyncEngine) -> None:
    recorder = HeldRecorder()
    inbox = inbox_with(engine, recorder, concurrency=4)
    await inbox.accept(said("slow", user="held@acme.io", event="Ev0"))
    draining = asyncio.create_task(inbox.drain(limit=3))
    await recorder.started.wait()  # one taken, two to go; then five more arrive
    for n in range(1, 6):
        await inbox.accept(said(str(n), user=f"m{n}@acme.io", event=f"Ev{n}"))
    recorder.release.set()  # four slots free at once: two of them are taken
    assert await draining == 3
    assert len(recorder.taken) == 3
    assert sum(row.processed_at is None for row in await rows(engine)) == 3

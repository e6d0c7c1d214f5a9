"""A worker whose claim fails while turns are under way (see docs/mutation.md): the turns
end by themselves and answer the member; a worker being shut down stops at once and
leaves its turn to be taken over.

The claim fails on the wire, as a database that went away makes it fail: a listener on
the engine's cursor (a driver's view, not our code) raises the driver's error for the
inbox's claim statement. Ana (Europe/Berlin) at Acme, 2026-11-25 09:00 UTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from core.inbox import Inbox
from core.store.models import Message
from tests.fakes.brain import GatedBrain
from tests.fakes.world import add_member, add_org
from tests.integration.test_conversation import ANA, Engine, build, delivered
from tests.integration.test_inbox import BACKOFF, rows, said


@dataclass
class ClaimFault:
    """Makes the inbox's next claim fail with the driver's error: at once, or with
    `wait_for_cancel` once the worker running it is cancelled (a driver that turns a
    cancellation into its own error, as `_cancelled` in core/inbox.py expects)."""

    wait_for_cancel: bool = False
    armed: bool = False
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not self.armed or "UPDATE inbound_events SET claimed_at" not in statement:
            return
        self.armed = False
        self.reached.set()
        if self.wait_for_cancel:
            with suppress(asyncio.CancelledError):  # held on the wire until cancelled
                await_only(asyncio.Event().wait())
        raise OperationalError("claim", None, ConnectionResetError("the database went away"))


@dataclass
class Worker:
    built: Engine
    brain: GatedBrain
    inbox: Inbox
    task: asyncio.Task[int] | None = None

    async def start_a_turn(self) -> asyncio.Task[int]:
        """Ana's answer is claimed and its turn waits on the model; the worker goes on
        looking for more every 10 ms."""
        await self.inbox.accept(said("4", event="Ev1"))
        self.task = asyncio.create_task(self.inbox.drain(limit=None, idle=0.01))
        await asyncio.wait_for(self.brain.asked.wait(), timeout=10)
        return self.task


@pytest.fixture
async def worker(engine: AsyncEngine) -> AsyncIterator[Worker]:
    brain = GatedBrain()
    built = build(engine, brain)
    async with built.sessions.begin() as db:
        await add_member(db, await add_org(db), ANA, timezone="Europe/Berlin")
    await delivered(built)
    inbox = Inbox(
        sessions=built.sessions, conversations=built.conversations, clock=built.clock,
        backoff=BACKOFF,
    )  # fmt: skip
    running = Worker(built, brain, inbox)
    yield running
    brain.gate.set()
    if running.task is not None and not running.task.done():
        running.task.cancel()
        await asyncio.wait({running.task}, timeout=10)


def fault_on(engine: AsyncEngine, fault: ClaimFault) -> ClaimFault:
    event.listen(engine.sync_engine, "before_cursor_execute", fault)
    fault.armed = True
    return fault


async def test_a_failed_claim_lets_the_turn_under_way_finish_and_answer(
    worker: Worker, engine: AsyncEngine
) -> None:
    running = await worker.start_a_turn()
    fault = fault_on(engine, ClaimFault())
    await asyncio.wait_for(fault.reached.wait(), timeout=10)
    await asyncio.wait({running}, timeout=0.5)  # a worker dropping its turns would end here
    worker.brain.gate.set()  # the model answers
    with pytest.raises(OperationalError):
        await asyncio.wait_for(running, timeout=10)  # the worker's loop then backs off
    replies = worker.built.channel.texts_to(1)[1:]
    assert len(replies) == 1 and "focus" in replies[0].lower()
    [row] = await rows(engine)
    assert row.processed_at is not None and not row.given_up


async def test_a_worker_cancelled_while_its_claim_fails_stops_and_its_turn_is_taken_over(
    worker: Worker, engine: AsyncEngine
) -> None:
    running = await worker.start_a_turn()
    fault = fault_on(engine, ClaimFault(wait_for_cancel=True))
    await asyncio.wait_for(fault.reached.wait(), timeout=10)
    running.cancel()  # a shutdown, while the driver holds the claim
    await asyncio.wait({running}, timeout=5)
    assert running.done()  # it did not wait for the model, which has not answered
    [row] = await rows(engine)
    assert row.processed_at is None
    worker.brain.gate.set()
    worker.built.clock.advance(timedelta(minutes=3))  # past the claim's timeout
    assert await worker.inbox.drain() == 1
    assert await worker.built.count(Message, inbound_event_id="Ev1") == 1
    assert len(worker.built.channel.texts_to(1)) == 2  # the opening, then one reply

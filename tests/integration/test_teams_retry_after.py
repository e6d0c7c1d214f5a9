"""Teams' Retry-After is honoured: the real Agents SDK against the fake Bot Framework
connector, which answers 429 (or 503) with Retry-After as seconds or as an HTTP date.

The outbox tries the message again no sooner than the connector asked, and nothing else
to that chat is sent ahead of it. Times are the FakeClock's: the fake connector notes
when each call came in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select

from core.store.models import OutboxMessage
from tests.fakes.bot_connector import Received
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually
from tests.fakes.teams_world import BEN, NOW, OLIVE, TeamsWorld, teams_world


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[TeamsWorld]:
    async with teams_world(db_url) as world:
        world.connector.clock = world.services.clock.now
        await world.installed(OLIVE, BEN)
        response = await world.activities.post(
            world.activities.personal(OLIVE, "schedule set daily mon-fri 09:30")
        )
        assert response.status_code == 200
        await world.said_to(OLIVE, 2)  # the welcome, the schedule's confirmation
        yield world


def clock_of(world: TeamsWorld) -> FakeClock:
    clock = world.services.clock
    assert isinstance(clock, FakeClock)
    return clock


async def send_due_at(world: TeamsWorld, at: timedelta) -> None:
    """Set the clock to NOW + `at` and send what is due (the app's sender loop may too)."""
    clock_of(world).current = NOW + at
    await world.services.outbox.send_due()
    await world.settled()


def sends_to(world: TeamsWorld, person: tuple[str, str, str]) -> list[Received]:
    return [r for r in world.connector.received_by(world.chat(person)) if r.operation == "send"]


async def test_a_send_answered_429_is_tried_again_only_after_the_retry_after_seconds(
    world: TeamsWorld,
) -> None:
    world.connector.fail_next("send", 429, times=2, retry_after="30")  # both openings
    await world.plan_and_deliver()
    await send_due_at(world, timedelta(seconds=29))
    assert [(r.status, r.at) for r in sends_to(world, BEN)] == [(429, NOW)]
    await send_due_at(world, timedelta(seconds=30))
    assert [(r.status, r.at) for r in sends_to(world, BEN)] == [
        (429, NOW),
        (200, NOW + timedelta(seconds=30)),
    ]
    [opening] = world.connector.sent_to(world.chat(BEN))  # arrived, and once
    assert opening.card is not None


async def test_a_503_with_retry_after_as_an_http_date_waits_until_that_date(
    world: TeamsWorld,
) -> None:
    until = NOW + timedelta(minutes=5)
    world.connector.fail_next("send", 503, times=2, retry_after=format_datetime(until, True))
    await world.plan_and_deliver()
    await send_due_at(world, timedelta(minutes=4, seconds=59))
    assert [(r.status, r.at) for r in sends_to(world, BEN)] == [(503, NOW)]
    await send_due_at(world, timedelta(minutes=5))
    assert [(r.status, r.at) for r in sends_to(world, BEN)] == [(503, NOW), (200, until)]
    assert len(world.connector.sent_to(world.chat(BEN))) == 1


async def test_a_later_message_to_the_same_chat_does_not_jump_ahead_of_the_throttled_one(
    world: TeamsWorld,
) -> None:
    world.connector.fail_next("send", 429, times=2, retry_after="30")
    await world.plan_and_deliver()
    await world.activities.post(world.activities.personal(BEN, "4"))  # answers the opening
    await eventually(lambda: outbox_rows_of(world, "aad-ben", 2))  # the reply is decided
    await send_due_at(world, timedelta(seconds=10))
    assert world.connector.sent_to(world.chat(BEN)) == []  # the reply waits behind it
    assert [r.status for r in sends_to(world, BEN)] == [429]
    await send_due_at(world, timedelta(seconds=30))
    await world.said_to(BEN, 2)
    opening, reply = world.connector.sent_to(world.chat(BEN))
    assert opening.card is not None and "1 😫" in str(opening.card)  # the 1-5 question first
    assert "1 😫" not in reply.text  # then the next question, each sent once
    assert [(r.status, r.at) for r in sends_to(world, BEN)] == [
        (429, NOW),
        (200, NOW + timedelta(seconds=30)),
        (200, NOW + timedelta(seconds=30)),
    ]


async def outbox_rows_of(world: TeamsWorld, aad: str, count: int) -> bool:
    member = await world.member(aad)
    async with world.services.sessions() as db:
        rows = select(func.count()).where(OutboxMessage.member_id == member.id)
        return await db.scalar(rows) == count

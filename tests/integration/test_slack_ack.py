"""Acknowledged means stored, and acknowledging never waits on Slack's Web API.

Whatever Slack got a 200 for is already committed in the inbox; a store that fails
answers 5xx (Slack redelivers). The bot's identity is learnt once at start-up, so an
event is acknowledged (and stored) even while Slack's Web API is unreachable, and a
burst of events on a cold start makes no auth.test calls of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text

from core.store.engine import make_sync_engine
from core.store.models import InboundEvent
from tests.fakes.http_server import free_port
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import SlackWorld, slack_world


@pytest.fixture
async def world(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    async with slack_world(db_url, slack_api) as world:
        yield world


async def stored(world: SlackWorld, event_id: str) -> bool:
    return await world.count(InboundEvent, InboundEvent.event_id == event_id) == 1


REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_events BEFORE INSERT ON inbound_events "
               "BEGIN SELECT RAISE(ABORT, 'the database refuses'); END"],
    "postgresql": [
        "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the database refuses'; END $$",
        "CREATE TRIGGER refuse_events BEFORE INSERT ON inbound_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_events()",
    ],
}  # fmt: skip
ACCEPT = {
    "sqlite": ["DROP TRIGGER refuse_events"],
    "postgresql": ["DROP TRIGGER refuse_events ON inbound_events", "DROP FUNCTION refuse_events"],
}


def execute(db_url: str, statements: list[str]) -> None:
    engine = make_sync_engine(db_url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


@asynccontextmanager
async def inserts_refused(db_url: str) -> AsyncIterator[None]:
    """The database refuses new inbox rows (reads go on) until the block ends. The DDL
    runs in a thread: it waits for the app's transactions, which need this event loop."""
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    await asyncio.to_thread(execute, db_url, REFUSE[backend])
    try:
        yield
    finally:
        await asyncio.to_thread(execute, db_url, ACCEPT[backend])


async def test_an_acknowledged_event_is_already_stored(world: SlackWorld) -> None:
    for n in range(5):
        response = await world.requests.dm("U2", f"answer {n}", ts=f"1.{n}", event_id=f"EvAck{n}")
        assert response.status_code == 200
        assert await stored(world, f"EvAck{n}")  # at once: no waiting for a listener


async def test_a_store_that_fails_is_not_acknowledged_and_the_redelivery_is_kept(
    world: SlackWorld, db_url: str
) -> None:
    async with inserts_refused(db_url):
        failed = await world.requests.dm("U2", "4", ts="1.5", event_id="EvDown")
    assert failed.status_code >= 500  # Slack redelivers what it got no 200 for
    assert not await stored(world, "EvDown")
    again = await world.requests.dm("U2", "4", ts="1.5", event_id="EvDown", retry_num=1)
    assert again.status_code == 200 and await stored(world, "EvDown")


async def test_with_slack_unreachable_an_event_is_acknowledged_at_once_and_stored(
    db_url: str, slack_api: FakeSlackApi
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    async with slack_world(db_url, slack_api, api_url=nowhere, members=0) as world:
        started = time.monotonic()
        response = await world.requests.dm("U2", "4", ts="1.6", event_id="EvOffline")
        assert response.status_code == 200 and time.monotonic() - started < 0.5
        assert await stored(world, "EvOffline")


async def test_a_burst_of_events_on_a_cold_start_makes_no_auth_test_call(
    world: SlackWorld,
) -> None:
    at_start_up = len(world.slack.calls_to("auth.test"))
    assert at_start_up == 1  # the start-up install learnt who the bot is
    responses = await asyncio.gather(
        *(
            world.requests.dm("U2", f"hi {n}", ts=f"2.{n}", event_id=f"EvBurst{n}")
            for n in range(30)
        )
    )
    assert [r.status_code for r in responses] == [200] * 30
    assert len(world.slack.calls_to("auth.test")) == at_start_up
    assert await world.count(InboundEvent, InboundEvent.event_id.like("EvBurst%")) == 30

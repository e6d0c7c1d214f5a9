"""Team digests: one per schedule and local date, posted to the report channel through
Slack's Web API (the local fake) once the day's window has closed, whatever crashes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.slack.channel_posts import DIGEST_EVENT, SlackChannelPoster
from adapters.slack.clients import SlackClients
from core.digest_posting import Digests
from core.domain import Provider
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import Digest, OutboxMessage
from tests.fakes.clock import FakeClock
from tests.fakes.digest_world import EXPIRES, Team
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi

CHANNEL = "C0TEAM"
MakeDigests = Callable[..., Digests]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EXPIRES + timedelta(minutes=1))


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
def workspace(slack_api: FakeSlackApi) -> FakeSlackApi:
    slack_api.add_channel(CHANNEL, ["U0BOT"])
    return slack_api


@pytest.fixture
async def make_digests(
    workspace: FakeSlackApi, clock: FakeClock, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[MakeDigests]:
    """Digests posting through Slack (every org's token is the test token)."""
    made: list[SlackClients] = []

    async def token(_: object) -> str:
        return TEST_TOKEN

    def make(*, on: async_sessionmaker[AsyncSession] = sessions, timeout: int = 15) -> Digests:
        clients = SlackClients(
            api_url=workspace.base_url,
            token_for_org=token,
            token_for_team=token,
            retry_backoff=0.01,
            timeout=timeout,
        )
        made.append(clients)
        poster = SlackChannelPoster(clients=clients)
        return Digests(sessions=on, posters={Provider.SLACK: poster}, clock=clock)

    yield make
    for clients in made:
        await clients.close()


@pytest.fixture
async def team(sessions: async_sessionmaker[AsyncSession]) -> Team:
    team = await Team.create(sessions, size=3)
    await team.checkin(0, mood=5.0)
    await team.checkin(1, mood=3.0)
    await team.checkin(2, state="expired")
    return team


async def test_a_closed_window_gets_one_digest_in_the_report_channel(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi
) -> None:
    counts = await make_digests().deliver()
    (posted,) = workspace.messages_in(CHANNEL)
    assert "Daily check-in digest, 2026-11-24" in posted.text
    assert "2 of 3 check-ins (67%)" in posted.text
    assert posted.metadata == {
        "event_type": DIGEST_EVENT,
        "event_payload": {"key": f"digest:{team.schedule_id}:2026-11-24"},
    }
    (digest,) = await team.digests()
    assert (digest.state, digest.message_id) == ("posted", f"{CHANNEL}:{posted.ts}")
    assert (counts.staged, counts.posted) == (1, 1)


async def test_running_it_again_posts_nothing_more(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi
) -> None:
    digests = make_digests()
    await digests.deliver()
    await digests.deliver()
    assert len(workspace.messages_in(CHANNEL)) == 1
    assert len(await team.digests()) == 1


async def test_two_workers_at_once_post_it_once(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi, db_url: str
) -> None:
    engines = [make_async_engine(db_url) for _ in range(2)]
    try:
        workers = [make_digests(on=make_sessionmaker(engine)) for engine in engines]
        await asyncio.gather(*(worker.deliver() for worker in workers for _ in range(3)))
    finally:
        for engine in engines:
            await engine.dispose()
    assert len(workspace.messages_in(CHANNEL)) == 1
    assert [d.state for d in await team.digests()] == ["posted"]


async def test_nothing_is_posted_while_a_check_in_is_still_open(
    sessions: async_sessionmaker[AsyncSession],
    make_digests: MakeDigests,
    workspace: FakeSlackApi,
    clock: FakeClock,
) -> None:
    team = await Team.create(sessions, size=2)
    await team.checkin(0)
    await team.checkin(1, state="delivered")
    clock.current = EXPIRES - timedelta(hours=1)
    await make_digests().deliver()
    assert workspace.messages_in(CHANNEL) == [] and await team.digests() == []


async def test_a_window_closes_once_every_check_in_is_finished(
    sessions: async_sessionmaker[AsyncSession],
    make_digests: MakeDigests,
    workspace: FakeSlackApi,
    clock: FakeClock,
) -> None:
    team = await Team.create(sessions, size=2)
    await team.checkin(0)
    await team.checkin(1, state="skipped")
    clock.current = EXPIRES - timedelta(hours=1)
    await make_digests().deliver()
    assert len(workspace.messages_in(CHANNEL)) == 1


async def test_a_schedule_without_a_report_channel_gets_no_digest(
    sessions: async_sessionmaker[AsyncSession], make_digests: MakeDigests, workspace: FakeSlackApi
) -> None:
    team = await Team.create(sessions, size=2, report_channel=None)
    await team.checkin(0)
    await make_digests().deliver()
    assert workspace.messages_in(CHANNEL) == [] and await team.digests() == []


async def test_a_digest_found_in_the_channel_after_a_crash_is_not_posted_again(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi, clock: FakeClock
) -> None:
    """A worker killed between Slack storing the post and the outcome being recorded
    leaves the row 'posting' with no message id; the next worker looks it up."""
    await make_digests().deliver()
    async with team.sessions.begin() as db:
        await db.execute(
            update(Digest).values(state="posting", message_id=None, claimed_at=clock.current)
        )
    clock.advance(timedelta(minutes=5))  # past the claim timeout
    await make_digests().deliver()
    (posted,) = workspace.messages_in(CHANNEL)
    (digest,) = await team.digests()
    assert (digest.state, digest.message_id) == ("posted", f"{CHANNEL}:{posted.ts}")
    assert len(workspace.calls_to("conversations.history")) == 1


async def test_a_post_that_timed_out_after_slack_stored_it_is_not_posted_again(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi, clock: FakeClock
) -> None:
    remove = workspace.on_call("chat.postMessage", lambda call: time.sleep(1.5))
    digests = make_digests(timeout=1)
    await digests.deliver()
    remove()
    assert [d.state for d in await team.digests()] == ["pending"]
    clock.advance(timedelta(hours=1))
    await digests.deliver()
    assert len(workspace.messages_in(CHANNEL)) == 1
    assert [d.state for d in await team.digests()] == ["posted"]


async def test_a_bot_not_in_the_channel_fails_the_digest_and_tells_the_admins(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi
) -> None:
    workspace.fail_next("chat.postMessage", error="not_in_channel")
    counts = await make_digests().deliver()
    (digest,) = await team.digests()
    assert digest.state == "failed" and "invite it" in (digest.error or "")
    async with team.sessions() as db:
        notices = list(await db.scalars(select(OutboxMessage)))
    assert [n.member_id for n in notices] == [team.people[0]]  # the owner, not the members
    assert "could not be posted" in notices[0].payload["text"]
    assert counts.failed == 1 and workspace.messages_in(CHANNEL) == []


async def test_slack_being_down_is_retried_later(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi, clock: FakeClock
) -> None:
    workspace.fail_next("chat.postMessage", times=3, status=503)  # the SDK's retries too
    digests = make_digests()
    await digests.deliver()
    assert [d.state for d in await team.digests()] == ["pending"]
    clock.advance(timedelta(hours=1))
    await digests.deliver()
    assert len(workspace.messages_in(CHANNEL)) == 1


async def test_an_old_window_is_not_posted_on_a_first_run(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi, clock: FakeClock
) -> None:
    clock.advance(timedelta(days=10))
    await make_digests().deliver()
    assert workspace.messages_in(CHANNEL) == [] and await team.digests() == []


async def test_without_the_history_scope_an_unknown_outcome_is_posted_again(
    team: Team, make_digests: MakeDigests, workspace: FakeSlackApi, clock: FakeClock
) -> None:
    """The duplicate window where the channel cannot be read (no channels:history)."""
    await make_digests().deliver()
    async with team.sessions.begin() as db:
        await db.execute(update(Digest).values(state="posting", claimed_at=clock.current))
    workspace.fail_next("conversations.history", error="missing_scope")
    clock.advance(timedelta(minutes=5))
    await make_digests().deliver()
    assert len(workspace.messages_in(CHANNEL)) == 2
    assert [d.state for d in await team.digests()] == ["posted"]

"""A digest's AI summary: asked of the model (the local OpenAI-compatible server) only
when at least 5 people answered, and logged in ai_logs like the brain's calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.dev.digests import DevChannelPoster
from adapters.llm.summariser import OpenAISummariser
from core.digest_posting import Digests
from core.domain import Provider
from core.store.engine import make_sessionmaker
from core.store.models import AiLog
from tests.fakes.clock import FakeClock
from tests.fakes.digest_world import EXPIRES, Team
from tests.fakes.openai_server import FakeOpenAIServer

SUMMARY = "The team is steady and focused on the release."


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def summariser(openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAISummariser]:
    model = OpenAISummariser(
        api_key="sk-test",
        model="gpt-4o-mini",
        base_url=openai_server.base_url,
        timeout_seconds=5,
        max_retries=0,
    )
    yield model
    await model.close()


async def team_of(sessions: async_sessionmaker[AsyncSession], answered: int) -> Team:
    """`answered` people answered, one more let the check-in expire (the dev chat's org)."""
    team = await Team.create(sessions, size=answered + 1, chat=None)
    for person in range(answered):
        await team.checkin(person, summary=f"Person {person} is fine.")
    await team.checkin(answered, state="expired")
    return team


async def posted_text(team: Team, summariser: OpenAISummariser) -> str:
    """The digest the dev chat got for the team's window."""
    digests = Digests(
        sessions=team.sessions,
        posters={Provider.DEV: DevChannelPoster()},
        clock=FakeClock(EXPIRES + timedelta(minutes=1)),
        summariser=summariser,
    )
    assert (await digests.deliver()).posted == 1
    (digest,) = await team.digests()
    return digest.text or ""


async def ai_logs(team: Team) -> list[AiLog]:
    async with team.sessions() as db:
        return list(await db.scalars(select(AiLog).where(AiLog.org_id == team.org_id)))


async def test_five_people_answering_get_a_summary_logged_in_ai_logs(
    sessions: async_sessionmaker[AsyncSession],
    summariser: OpenAISummariser,
    openai_server: FakeOpenAIServer,
) -> None:
    team = await team_of(sessions, 5)
    openai_server.push(SUMMARY)
    assert f"**Summary**\n{SUMMARY}" in await posted_text(team, summariser)
    (request,) = openai_server.requests
    assert "Person 4 is fine." in request["messages"][-1]["content"]
    (log,) = await ai_logs(team)
    assert (log.purpose, log.outcome, log.session_id, log.prompt_text) == (
        "digest", "ok", None, None
    )  # fmt: skip


async def test_four_people_answering_are_never_summarised_by_a_model(
    sessions: async_sessionmaker[AsyncSession],
    summariser: OpenAISummariser,
    openai_server: FakeOpenAIServer,
) -> None:
    team = await team_of(sessions, 4)  # a group of five, four of whom answered
    text = await posted_text(team, summariser)
    assert openai_server.requests == []
    assert "Summary" not in text and await ai_logs(team) == []


async def test_a_failed_model_call_leaves_the_digest_without_a_summary(
    sessions: async_sessionmaker[AsyncSession],
    summariser: OpenAISummariser,
    openai_server: FakeOpenAIServer,
) -> None:
    team = await team_of(sessions, 5)
    openai_server.fail_next(status=500)
    text = await posted_text(team, summariser)
    assert "Summary" not in text and "Participation: 5 of 6" in text
    assert [(log.purpose, log.outcome) for log in await ai_logs(team)] == [("digest", "error")]

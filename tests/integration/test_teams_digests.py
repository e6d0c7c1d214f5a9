"""Team digests in a Teams channel: a proactive post through the Bot Framework connector
(the Agents SDK's ConnectorClient against the local fake), once per window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.teams.channel_posts import TeamsChannelPoster
from adapters.teams.connector import Connector, NoTokens
from core.digest_posting import Digests
from core.domain import Provider
from core.store.engine import make_sessionmaker
from core.store.models import TeamsTeam
from tests.fakes.bot_connector import FakeConnector
from tests.fakes.clock import FakeClock
from tests.fakes.digest_world import EXPIRES, Team
from tests.fakes.http_server import serving

TENANT = "tenant-1"
CHANNEL = "19:team-general@thread.tacv2"


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    async with serving(fake.app()) as url:
        fake.base_url = url + "/"
        yield fake


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def team(sessions: async_sessionmaker[AsyncSession], connector: FakeConnector) -> Team:
    team = await Team.create(sessions, size=2, report_channel=CHANNEL, chat=("teams", TENANT))
    async with sessions.begin() as db:
        await db.execute(
            insert(TeamsTeam).values(
                org_id=team.org_id,
                tenant_id=TENANT,
                team_id="19:team",
                service_url=connector.base_url,
            )
        )
    await team.checkin(0, mood=4.0)
    await team.checkin(1, state="skipped")
    return team


def digests(sessions: async_sessionmaker[AsyncSession]) -> Digests:
    poster = TeamsChannelPoster(connector=Connector(tokens=NoTokens()), sessions=sessions)
    clock = FakeClock(EXPIRES + timedelta(minutes=1))
    return Digests(sessions=sessions, posters={Provider.TEAMS: poster}, clock=clock)


async def test_the_digest_is_posted_in_the_team_channel_once(
    team: Team, connector: FakeConnector, sessions: async_sessionmaker[AsyncSession]
) -> None:
    posting = digests(sessions)
    await posting.deliver()
    await posting.deliver()
    (post,) = connector.channel_posts
    assert post.conversation_id == CHANNEL
    assert "Daily check-in digest, 2026-11-24" in post.text
    assert "1 of 2 check-ins (50%)" in post.text
    (digest,) = await team.digests()
    assert (digest.state, digest.message_id, digest.provider) == (
        "posted",
        post.activity_id,
        "teams",
    )


async def test_a_channel_whose_team_lost_the_bot_fails_the_digest_for_good(
    team: Team, connector: FakeConnector, sessions: async_sessionmaker[AsyncSession]
) -> None:
    connector.block(CHANNEL)
    await digests(sessions).deliver()
    (digest,) = await team.digests()
    assert digest.state == "failed" and "add it to the team" in (digest.error or "")
    assert connector.channel_posts == []

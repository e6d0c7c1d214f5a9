"""digest_content: the facts of one group's window, read from the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.digest import DigestFacts, digest_content
from core.store.engine import make_sessionmaker
from tests.fakes.digest_world import DAY, Team


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


async def facts_of(team: Team) -> DigestFacts:
    async with team.sessions() as db:
        return await digest_content(
            db, org_id=team.org_id, schedule_id=team.schedule_id, since=DAY, until=DAY
        )


async def test_a_blocker_named_in_two_check_ins_is_a_repeated_blocker(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=5)
    for person, blocker in enumerate(
        ["Waiting on review", "waiting on review ", "none", "CI", None]
    ):
        await team.checkin(person, blocker=blocker)
    facts = await facts_of(team)
    assert facts.blockers == (("waiting on review", 2),)
    assert (facts.group_size, facts.answered, facts.moods) == (5, 5, {4: 5})


async def test_a_mood_fall_of_a_point_week_over_week_is_an_alert(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=5)
    for person in range(5):
        await team.checkin(person, mood=2.0)
        await team.checkin(person, on=DAY - timedelta(days=7), mood=4.0)
    (alert,) = (await facts_of(team)).alerts
    assert alert == "The mood average fell from 4.0 to 2.0 week over week."


async def test_a_group_of_four_gets_no_blockers_nor_alerts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=4)
    for person in range(4):
        await team.checkin(person, mood=2.0, blocker="CI is red")
        await team.checkin(person, on=DAY - timedelta(days=7), mood=5.0)
    facts = await facts_of(team)
    assert (facts.blockers, facts.alerts, facts.per_person_shown) == ((), (), False)


async def test_another_orgs_check_ins_do_not_count(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=2)
    other = await Team.create(sessions, size=3, slug="globex", chat=None)
    await team.checkin(0)
    for person in range(3):
        await other.checkin(person)
    facts = await facts_of(team)
    assert (facts.planned, facts.completed, facts.group_size) == (1, 1, 1)

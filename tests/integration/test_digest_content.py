"""digest_content: the facts of one group's window, read from the database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.digest import DigestFacts, compose_digest, digest_content
from core.store.engine import make_sessionmaker
from tests.fakes.digest_world import DAY, Team


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


async def facts_of(team: Team) -> DigestFacts:
    async with team.sessions() as db:
        return await digest_content(
            db, org_id=team.org_id, schedule_id=team.schedule_id, since=DAY, until=DAY,
            now=datetime.combine(DAY + timedelta(days=1), time(12), tzinfo=UTC),
        )  # fmt: skip


async def test_a_blocker_named_three_check_ins_in_a_row_is_a_repeated_blocker(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=5)
    for days_ago, blocker in enumerate(
        ["Waiting on review", "waiting on review ", "WAITING on review"]
    ):
        await team.checkin(0, on=DAY - timedelta(days=days_ago), blocker=blocker)
    for person in range(1, 5):
        await team.checkin(person, blocker="CI")
    facts = await facts_of(team)
    assert facts.blockers == (("Person 0: waiting on review", 3),)
    assert (facts.group_size, facts.answered, facts.moods) == (5, 5, {4: 5})


async def test_a_blocker_named_twice_in_a_row_is_not_repeated(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=5)
    for days_ago in range(2):
        await team.checkin(0, on=DAY - timedelta(days=days_ago), blocker="Waiting on review")
    assert (await facts_of(team)).blockers == ()


async def test_a_mood_fall_of_a_point_week_over_week_is_an_alert(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=5)
    for person in range(5):
        await team.checkin(person, mood=2.0)
        await team.checkin(person, on=DAY - timedelta(days=7), mood=4.0)
    (alert,) = (await facts_of(team)).alerts
    assert alert.startswith("Mood fell from 4.0 to 2.0 week over week")


async def test_a_group_of_four_gets_no_names_moods_or_blocker_texts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=4)
    for person in range(4):
        for days_ago in range(3):
            await team.checkin(person, on=DAY - timedelta(days=days_ago), blocker="CI is red")
    facts = await facts_of(team)
    text = compose_digest(facts).text
    assert (facts.blockers, facts.per_person_shown, facts.to_summarise) == ((), False, ())
    assert "CI is red".casefold() not in text.casefold() and "Person" not in text
    assert "Mood:" not in text and "A member has had the same blocker" in text


async def test_another_orgs_check_ins_do_not_count(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team = await Team.create(sessions, size=2)
    other = await Team.create(sessions, size=3, slug="globex", chat=None)
    await team.checkin(0)
    for person in range(3):
        await other.checkin(person)
    facts = await facts_of(team)
    assert (facts.planned, facts.completed, facts.group_size) == (1, 1, 2)

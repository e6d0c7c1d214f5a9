"""build_report: per agent counts, averages and recent answers over a period of local dates.

Acme's daily check-in is scheduled for everyone: five people, the anonymity threshold,
so their answers show; a group of four gets counts and averages only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.report import Report, build_report
from core.store.engine import make_sessionmaker
from core.store.models import Agent, CheckinSession, Dot, Member, Organization, Schedule

UNTIL = date(2026, 11, 25)
SINCE = UNTIL - timedelta(days=6)


class Acme:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.ids: dict[str, int] = {}

    async def insert(self, model: Any, **values: Any) -> int:
        async with self.sessions.begin() as db:
            statement = insert(model).values(**values).returning(model.id)
            return int((await db.execute(statement)).scalar_one())

    async def setup(self, *, people: int = 5, scheduled: bool = True) -> Acme:
        self.ids["org"] = await self.insert(Organization, slug="acme", name="Acme")
        for name in ("Ana", "Bo", "Cy", "Di", "Ed")[:people]:
            self.ids[name] = await self.insert(Member, org_id=self.ids["org"], display_name=name)
        async with self.sessions() as db:
            for agent in await db.scalars(select(Agent).where(Agent.org_id.is_(None))):
                self.ids[agent.slug] = agent.id
        if scheduled:
            await self.insert(Schedule, org_id=self.ids["org"], agent_id=self.ids["daily"],
                              weekdays=127, local_time=time(9))  # fmt: skip
        return self

    async def check_in(
        self, who: str, *, on: date = UNTIL, agent: str = "daily", state: str = "completed",
        **dots: float | str,
    ) -> None:  # fmt: skip
        due = datetime.combine(on, time(9), tzinfo=UTC)
        session = await self.insert(
            CheckinSession, org_id=self.ids["org"], member_id=self.ids[who],
            agent_id=self.ids[agent], local_date=on, due_at=due, expires_at=due, state=state,
            delivered_at=due if state != "scheduled" else None,
        )  # fmt: skip
        for key, value in dots.items():
            number = value if isinstance(value, float) else None
            await self.insert(
                Dot, session_id=session, org_id=self.ids["org"], member_id=self.ids[who],
                key=key, num_value=number, text_value=None if number is not None else value,
            )  # fmt: skip

    async def report(self, agent: str | None = None) -> Report:
        async with self.sessions() as db:
            return await build_report(
                db, org_id=self.ids["org"], agent_slug=agent, since=SINCE, until=UNTIL
            )


@pytest.fixture
async def acme(engine: AsyncEngine) -> Acme:
    return await Acme(make_sessionmaker(engine)).setup()


async def test_counts_sessions_by_outcome_within_the_period(acme: Acme) -> None:
    await acme.check_in("Ana")
    await acme.check_in("Bo", state="skipped")
    await acme.check_in("Bo", on=UNTIL - timedelta(days=1), state="expired")
    await acme.check_in("Ana", on=UNTIL - timedelta(days=7))  # before the period
    (daily,) = (await acme.report()).agents
    assert (daily.planned, daily.delivered, daily.completed) == (3, 3, 1)
    assert (daily.skipped, daily.expired, daily.response_rate) == (1, 1, pytest.approx(1 / 3))


async def test_averages_numeric_dots_per_key(acme: Acme) -> None:
    await acme.check_in("Ana", mood=4.0)
    await acme.check_in("Bo", mood=2.0)
    (daily,) = (await acme.report()).agents
    assert [(n.key, n.average, n.answers) for n in daily.numbers] == [("mood", 3.0, 2)]


async def test_recent_text_answers_are_newest_first_at_most_five(acme: Acme) -> None:
    for days_ago in range(7):
        await acme.check_in("Bo", on=UNTIL - timedelta(days=days_ago), blockers=f"b{days_ago}")
    (daily,) = (await acme.report()).agents
    assert [a.text for a in daily.texts] == ["b0", "b1", "b2", "b3", "b4"]
    assert daily.texts[0].member == "Bo"


async def test_answers_that_say_nothing_are_left_out(acme: Acme) -> None:
    await acme.check_in("Ana", blockers="None")
    await acme.check_in("Bo", blockers="the build is slow")
    (daily,) = (await acme.report()).agents
    assert [a.text for a in daily.texts] == ["the build is slow"]


async def test_an_agent_filter_reports_only_that_agent_even_without_sessions(acme: Acme) -> None:
    await acme.check_in("Ana")
    (retro,) = (await acme.report("retro")).agents
    assert (retro.slug, retro.planned, retro.response_rate) == ("retro", 0, None)


async def test_as_dict_is_json_with_iso_dates(acme: Acme) -> None:
    await acme.check_in("Ana", mood=5.0, blockers="flaky tests")
    data = json.loads(json.dumps((await acme.report()).as_dict()))
    assert data["since"] == "2026-11-19" and data["until"] == "2026-11-25"
    (daily,) = data["agents"]
    assert daily["averages"] == {"mood": {"average": 5.0, "answers": 1}}
    assert daily["recent"] == {
        "blockers": [{"member": "Ana", "text": "flaky tests", "date": "2026-11-25"}]
    }


async def test_as_text_says_when_there_is_nothing_to_report(engine: AsyncEngine) -> None:
    unscheduled = await Acme(make_sessionmaker(engine)).setup(scheduled=False)
    assert (await unscheduled.report()).as_text() == "No check-ins from 2026-11-19 to 2026-11-25."


async def test_a_group_of_five_shows_its_recent_answers(acme: Acme) -> None:
    await acme.check_in("Bo", blockers="waiting on review")
    (daily,) = (await acme.report()).agents
    assert (daily.group_size, daily.per_person_shown) == (5, True)
    assert "- Bo, 2026-11-25: waiting on review" in (await acme.report()).as_text()


async def test_a_group_of_four_shows_counts_and_averages_but_no_answers(
    engine: AsyncEngine,
) -> None:
    four = await Acme(make_sessionmaker(engine)).setup(people=4)
    await four.check_in("Bo", mood=4.0, blockers="waiting on review")
    report = await four.report()
    (daily,) = report.agents
    assert daily.texts == () and daily.completed == 1
    text = report.as_text()
    assert "mood: average 4.0 (1 answers)" in text and "waiting on review" not in text
    assert "Individual answers are hidden: this group has 4 people, fewer than 5." in text
    assert report.as_dict()["agents"][0]["recent"] == {}


async def test_an_agent_without_a_schedule_counts_the_people_who_checked_in(acme: Acme) -> None:
    await acme.check_in("Ana", agent="retro", went_well="shipping")
    (retro,) = (await acme.report("retro")).agents
    assert (retro.group_size, retro.texts) == (1, ())

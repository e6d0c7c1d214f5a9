"""`holidays …` as a member and an admin type it, and the next check-in it moves.

Acme (public holidays of Germany) has Ana (owner) and Bo (member); the clock says
Thursday 2026-12-24, noon UTC: Christmas Day and Boxing Day are German holidays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.commands.service import run_command
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.store.engine import make_sessionmaker
from core.store.models import Agent, AuditEntry, Member, Organization, Schedule
from tests.fakes.clock import FakeClock

CHRISTMAS_EVE_NOON = datetime(2026, 12, 24, 12, tzinfo=UTC)
ANA, BO = "ana@example.com", "bo@example.com"


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    org_id: int
    ids: dict[str, int]

    async def say(self, who: str, text: str) -> str:
        request = CommandRequest(sender=Sender(Provider.DEV, "acme", who), text=text)
        clock = FakeClock(CHRISTMAS_EVE_NOON)
        reply = await run_command(
            sessions=self.sessions, request=request, directory=None, clock=clock
        )
        return reply.text

    async def member(self, email: str) -> Member:
        async with self.sessions() as db:
            return await db.get_one(Member, self.ids[email])

    async def org(self) -> Organization:
        async with self.sessions() as db:
            return await db.get_one(Organization, self.org_id)

    async def audited(self) -> list[tuple[str, Any]]:
        async with self.sessions() as db:
            return [(e.action, e.detail) for e in await db.scalars(select(AuditEntry))]


async def _insert(db: AsyncSession, model: Any, **values: Any) -> int:
    return (await db.execute(insert(model).values(**values).returning(model.id))).scalar_one()


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as db:
        org_id = await _insert(
            db, Organization, slug="acme", name="Acme", plan_status="active", holiday_region="DE"
        )
        people = [(ANA, "Ana", "owner"), (BO, "Bo", "member")]
        ids = {
            email: await _insert(
                db, Member, org_id=org_id, display_name=name, email=email, role=role
            )
            for email, name, role in people
        }
    return World(sessions, org_id, ids)


async def test_holidays_alone_shows_the_orgs_region_and_the_next_holiday(world: World) -> None:
    reply = await world.say(BO, "holidays")
    assert reply.startswith("Your public holidays: DE (your organisation's).")
    assert "Next: Christmas Day on 2026-12-25." in reply


async def test_holidays_with_a_region_sets_the_members_own(world: World) -> None:
    reply = await world.say(BO, "holidays de-by")
    bo = await world.member(BO)
    assert (bo.holiday_region, bo.holidays_off) == ("DE-BY", False)
    assert "DE-BY" in reply and await world.audited() == [("member.holidays", {"region": "DE-BY"})]
    assert (await world.say(BO, "holidays")).startswith("Your public holidays: DE-BY (your own")


async def test_holidays_off_turns_them_off_for_the_member_only(world: World) -> None:
    await world.say(BO, "holidays DE-BY")
    await world.say(BO, "holidays off")
    bo = await world.member(BO)
    assert (bo.holiday_region, bo.holidays_off) == (None, True)
    assert (await world.org()).holiday_region == "DE"
    assert (await world.say(BO, "holidays")).startswith("Public holidays are off for you")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("holidays XX", "'XX' is not a country code like DE, FR or US; nothing changed."),
        ("holidays DE-ZZ", "'DE-ZZ' is not a region of DE (e.g. DE-"),
    ],
)
async def test_an_unknown_region_is_one_helpful_line_and_changes_nothing(
    world: World, text: str, says: str
) -> None:
    reply = await world.say(BO, text)
    assert says in reply and "\n" not in reply and reply.endswith("nothing changed.")
    bo = await world.member(BO)
    assert (bo.holiday_region, bo.holidays_off) == (None, False)
    assert await world.audited() == []


async def test_the_orgs_region_is_an_admins_to_set(world: World) -> None:
    assert "only admins can use `holidays org`" in await world.say(BO, "holidays org US")
    assert (await world.org()).holiday_region == "DE"
    await world.say(ANA, "holidays org US-CA")
    assert (await world.org()).holiday_region == "US-CA"
    await world.say(ANA, "holidays org off")
    assert (await world.org()).holiday_region is None


async def test_schedule_show_says_the_next_check_in_comes_after_the_holidays(world: World) -> None:
    async with world.sessions.begin() as db:
        agent_id = await db.scalar(select(Agent.id).where(Agent.slug == "daily"))
        await _insert(
            db, Schedule, org_id=world.org_id, agent_id=agent_id, weekdays=127, local_time=time(9)
        )
    reply = await world.say(BO, "schedule show")
    # the 25th and 26th are German public holidays: Sunday the 27th is next
    assert "Your next check-in (Daily check-in): Sun 09:00, UTC time." in reply
    await world.say(BO, "holidays US")
    assert "Your next check-in (Daily check-in): Sat 09:00, UTC time." in await world.say(
        BO, "schedule show"
    )


async def test_forget_sets_the_members_memory_marker_and_keeps_their_data(world: World) -> None:
    reply = await world.say(BO, "forget")
    assert (await world.member(BO)).memory_cleared_at == CHRISTMAS_EVE_NOON
    assert "forgotten your earlier check-ins" in reply
    assert await world.audited() == [("member.forget", {})]

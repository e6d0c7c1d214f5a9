"""A member's home says when the next check-in comes, past their public holidays."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from core.home import member_home
from core.store.engine import make_sessionmaker
from tests.fakes.world import add_member, add_org, add_schedule

CHRISTMAS_EVE_NOON = datetime(2026, 12, 24, 12, tzinfo=UTC)


async def _next_local(engine: AsyncEngine, region: str | None) -> str | None:
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as db:
        org = await add_org(db, plan_status="active", holiday_region=region)
        member = await add_member(db, org, "ana@acme.io", timezone="Europe/Berlin")
        await add_schedule(db, org)  # every day at 09:00
    async with sessions() as db:
        home = await member_home(db, member_id=member.id, now=CHRISTMAS_EVE_NOON)
    return home.next_checkin.local if home.next_checkin else None


async def test_the_next_check_in_skips_christmas_and_boxing_day_in_germany(
    engine: AsyncEngine,
) -> None:
    assert await _next_local(engine, "DE") == "Sun 09:00"


async def test_without_a_holiday_region_it_is_tomorrow(engine: AsyncEngine) -> None:
    assert await _next_local(engine, None) == "Fri 09:00"

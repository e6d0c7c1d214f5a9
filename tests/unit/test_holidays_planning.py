"""Planning skips each member's public holidays (their region, else their org's) and says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.planning import plan_sessions
from core.schedule_time import ALL_WEEKDAYS
from core.store import models as m
from core.store.engine import make_sessionmaker

GRACE = timedelta(hours=2)
BEFORE_CHRISTMAS = datetime(2026, 12, 23, 12, tzinfo=UTC)
BEFORE_EPIPHANY = datetime(2027, 1, 5, 12, tzinfo=UTC)
DEC_24, DEC_25, DEC_26 = date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)
JAN_6 = date(2027, 1, 6)


async def _org(conn: AsyncConnection, region: str | None) -> int:
    values = {"slug": f"org-{region}", "name": "Org", "plan_status": "active"}
    values |= {"disabled_agents": [], "holiday_region": region}
    statement = insert(m.Organization).values(**values).returning(m.Organization.id)
    result = await conn.execute(statement)
    return int(result.scalar_one())


async def _member(conn: AsyncConnection, org_id: int, zone: str, **fields: Any) -> int:
    values = {"org_id": org_id, "display_name": "M", "timezone": zone} | fields
    result = await conn.execute(insert(m.Member).values(**values).returning(m.Member.id))
    return int(result.scalar_one())


async def _schedule(conn: AsyncConnection, org_id: int) -> None:
    agent_id = await conn.scalar(
        select(m.Agent.id).where(m.Agent.slug == "daily", m.Agent.org_id.is_(None))
    )
    values = {"org_id": org_id, "agent_id": agent_id, "weekdays": ALL_WEEKDAYS}
    await conn.execute(insert(m.Schedule).values(local_time=time(9), **values))


async def _plan(engine: AsyncEngine, now: datetime) -> int:
    sessions = make_sessionmaker(engine)
    return await plan_sessions(sessions=sessions, now=now, horizon=timedelta(days=4), grace=GRACE)


async def _days(engine: AsyncEngine, member_id: int) -> dict[date, tuple[str, str | None]]:
    s = m.CheckinSession
    query = select(s.local_date, s.state, s.outcome_note).where(s.member_id == member_id)
    async with engine.connect() as conn:
        return {row.local_date: (row.state, row.outcome_note) for row in await conn.execute(query)}


PLANNED = ("scheduled", None)
HOLIDAY = ("skipped", "public holiday")


async def test_christmas_is_skipped_as_a_public_holiday_of_each_members_country(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        de_org, us_org = await _org(conn, "DE"), await _org(conn, "US")
        berlin = await _member(conn, de_org, "Europe/Berlin")
        new_york = await _member(conn, us_org, "America/New_York")
        await _schedule(conn, de_org)
        await _schedule(conn, us_org)
    await _plan(engine, BEFORE_CHRISTMAS)
    de_days, us_days = await _days(engine, berlin), await _days(engine, new_york)
    assert [de_days[d] for d in (DEC_24, DEC_25, DEC_26)] == [PLANNED, HOLIDAY, HOLIDAY]
    assert [us_days[d] for d in (DEC_24, DEC_25, DEC_26)] == [PLANNED, HOLIDAY, PLANNED]


async def test_a_members_own_region_or_holidays_off_overrides_the_orgs(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        de_org = await _org(conn, "DE")
        in_us = await _member(conn, de_org, "Europe/Berlin", holiday_region="US")
        works_through = await _member(conn, de_org, "Europe/Berlin", holidays_off=True)
        await _schedule(conn, de_org)
    await _plan(engine, BEFORE_CHRISTMAS)
    assert (await _days(engine, in_us))[DEC_26] == PLANNED
    assert set((await _days(engine, works_through)).values()) == {PLANNED}


async def test_epiphany_is_a_holiday_in_bavaria_but_not_in_berlin(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        de_org = await _org(conn, "DE")
        munich = await _member(conn, de_org, "Europe/Berlin", holiday_region="DE-BY")
        berlin = await _member(conn, de_org, "Europe/Berlin", holiday_region="DE-BE")
        await _schedule(conn, de_org)
    await _plan(engine, BEFORE_EPIPHANY)
    assert (await _days(engine, munich))[JAN_6] == HOLIDAY
    assert (await _days(engine, berlin))[JAN_6] == PLANNED


async def test_a_holiday_is_decided_once_and_not_planned_again(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        de_org = await _org(conn, "DE")
        member = await _member(conn, de_org, "Europe/Berlin")
        await _schedule(conn, de_org)
    first = await _plan(engine, BEFORE_CHRISTMAS)
    assert await _plan(engine, BEFORE_CHRISTMAS) == 0
    assert len(await _days(engine, member)) == first

"""Planning's edges the surviving mutants showed untested (see docs/mutation.md)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.schedule_time import weekdays_mask
from core.store import models as m
from tests.integration.test_plan_watermark import _watermark
from tests.integration.test_planning import (
    JUNE_10,
    JUNE_11,
    JUNE_12,
    WEDNESDAY_NOON,
    _dates_by_member,
    _member,
    _org,
    _plan,
    _rows,
    _schedule,
)

THURSDAY = 3


async def test_a_check_in_started_on_demand_with_another_agent_leaves_the_day_planned(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        member = await _member(conn, org)
        await _schedule(conn, org, agent="daily")
        retro = await conn.scalar(select(m.Agent.id).where(m.Agent.slug == "retro"))
        await conn.execute(
            insert(m.CheckinSession).values(
                org_id=org, member_id=member, agent_id=retro, local_date=JUNE_11,
                due_at=WEDNESDAY_NOON, expires_at=WEDNESDAY_NOON + timedelta(days=2),
            )
        )  # fmt: skip
    await _plan(engine)
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11, JUNE_11]}
    assert [row.schedule_id is None for row in await _rows(engine)].count(True) == 1


async def test_a_member_of_another_org_gets_none_of_this_orgs_check_ins(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        acme, other = await _org(conn, "acme"), await _org(conn, "other")
        ours = await _member(conn, acme)
        await _member(conn, other)
        await _schedule(conn, acme)
    await _plan(engine)
    assert await _dates_by_member(engine) == {ours: [JUNE_10, JUNE_11]}


async def test_a_day_started_on_demand_is_not_planned_again(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        member = await _member(conn, org)
        await _schedule(conn, org, agent="daily")
        daily = await conn.scalar(select(m.Agent.id).where(m.Agent.slug == "daily"))
        await conn.execute(
            insert(m.CheckinSession).values(
                org_id=org, member_id=member, agent_id=daily, local_date=JUNE_10,
                due_at=WEDNESDAY_NOON, expires_at=WEDNESDAY_NOON + timedelta(days=1),
            )
        )  # fmt: skip
    assert await _plan(engine) == 1
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11]}


async def test_each_schedule_plans_only_its_own_weekdays_beside_another_at_that_time(
    engine: AsyncEngine,
) -> None:
    """The daily check-in every day at 09:00, the retro on Thursdays at 09:00."""
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        await _member(conn, org)
        daily = await _schedule(conn, org, agent="daily")
        retro = await _schedule(conn, org, agent="retro", weekdays=weekdays_mask([THURSDAY]))
    await _plan(engine)
    planned = {(row.schedule_id, row.local_date) for row in await _rows(engine)}
    assert planned == {(daily, JUNE_10), (daily, JUNE_11), (retro, JUNE_11)}


async def test_each_listed_schedule_plans_only_its_own_participants(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        ana, bo = await _member(conn, org), await _member(conn, org)
        daily = await _schedule(conn, org, agent="daily", participants="listed")
        retro = await _schedule(conn, org, agent="retro", participants="listed")
        await conn.execute(
            insert(m.ScheduleParticipant),
            [{"schedule_id": daily, "member_id": ana}, {"schedule_id": retro, "member_id": bo}],
        )
    await _plan(engine)
    planned = {(row.member_id, row.schedule_id) for row in await _rows(engine)}
    assert planned == {(ana, daily), (bo, retro)}


async def test_a_new_schedule_is_planned_in_full_beside_one_planned_before(
    engine: AsyncEngine,
) -> None:
    """Acme was planned on Wednesday; Thursday's run plans Acme's Friday and all of
    Globex's, new since: its Thursday too, though Acme's Thursday was planned before."""
    async with engine.begin() as conn:
        acme = await _org(conn, "acme")
        ana = await _member(conn, acme)
        await _schedule(conn, acme)
    await _plan(engine)
    async with engine.begin() as conn:
        globex = await _org(conn, "globex")
        bo = await _member(conn, globex)
        await _schedule(conn, globex)
    await _plan(engine, now=WEDNESDAY_NOON + timedelta(days=1))
    assert await _dates_by_member(engine) == {
        ana: [JUNE_10, JUNE_11, JUNE_12],
        bo: [JUNE_11, JUNE_12],
    }


async def test_a_schedule_nobody_takes_part_in_is_not_read_again_for_a_week(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        schedule = await _schedule(conn, await _org(conn, "acme"))
    await _plan(engine)
    mark = await _watermark(engine, schedule)
    assert mark.next_due_at - mark.planned_until == timedelta(days=7)

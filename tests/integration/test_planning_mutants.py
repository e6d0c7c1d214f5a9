"""Planning's edges the surviving mutants showed untested (see docs/mutation.md)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store import models as m
from tests.integration.test_planning import (
    JUNE_10,
    JUNE_11,
    WEDNESDAY_NOON,
    _dates_by_member,
    _member,
    _org,
    _plan,
    _rows,
    _schedule,
)


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

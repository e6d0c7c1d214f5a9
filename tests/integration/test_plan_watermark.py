"""Planning's watermark (core/plan_watermark.py, migration 0020's triggers) on SQLite and
PostgreSQL: a rerun with nothing new reads one row a schedule and plans nothing; any
change to what planning reads makes the next run plan what it now needs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.schedule_time import weekdays_mask
from core.store import models as m
from core.store.engine import make_async_engine, make_sync_engine
from core.store.migrate import upgrade_to_head
from tests.integration.test_migrations_down import migrate
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

A_MINUTE_LATER = WEDNESDAY_NOON + timedelta(minutes=1)
PLANNING_TRIGGERS = {
    "plan_members_changed",
    "plan_schedules_changed",
    "plan_organizations_changed",
    "plan_member_added",
    "plan_participant_listed",
    "plan_session_deleted",
}


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements the engine sends while the block runs."""
    sent: list[str] = []

    def remember(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", remember)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", remember)


def _inserts_sessions(sent: list[str]) -> bool:
    return any(s.lstrip().upper().startswith("INSERT INTO CHECKIN_SESSIONS") for s in sent)


async def _acme(engine: AsyncEngine, **schedule: Any) -> tuple[int, int, int]:
    """Acme with one member in UTC and a daily 10:00 schedule (today's is due two hours
    before WEDNESDAY_NOON: still sent a minute later): (org, member, schedule)."""
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        member = await _member(conn, org)
        return org, member, await _schedule(conn, org, **({"at": time(10)} | schedule))


async def _change(engine: AsyncEngine, statement: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(statement)


async def _watermark(engine: AsyncEngine, schedule: int) -> Any:
    w = m.PlanWatermark
    async with engine.connect() as conn:
        query = select(w.generation, w.planned_until, w.next_due_at).where(
            w.schedule_id == schedule
        )
        return (await conn.execute(query)).one_or_none()


async def test_a_rerun_with_nothing_new_reads_one_statement_and_inserts_nothing(
    engine: AsyncEngine,
) -> None:
    _, member, _ = await _acme(engine)
    assert await _plan(engine) == 2
    with statements(engine) as sent:
        assert await _plan(engine, now=A_MINUTE_LATER) == 0
    assert len(sent) == 1 and sent[0].lstrip().upper().startswith("SELECT")
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11]}


async def test_the_watermark_records_the_horizon_and_the_next_due_slot(
    engine: AsyncEngine,
) -> None:
    _, _, schedule = await _acme(engine)
    await _plan(engine)
    mark = await _watermark(engine, schedule)
    assert mark.planned_until == WEDNESDAY_NOON + timedelta(hours=36)
    assert mark.next_due_at == datetime(2026, 6, 12, 10, tzinfo=WEDNESDAY_NOON.tzinfo)


async def test_a_run_whose_horizon_reaches_the_next_slot_plans_only_the_new_date(
    engine: AsyncEngine,
) -> None:
    _, member, _ = await _acme(engine)
    await _plan(engine)
    thursday_evening = WEDNESDAY_NOON + timedelta(hours=22)  # Friday 10:00 within 36 h
    assert await _plan(engine, now=thursday_evening) == 1
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11, JUNE_12]}


async def test_a_clock_gone_back_plans_everything_again(engine: AsyncEngine) -> None:
    _, member, _ = await _acme(engine)
    await _plan(engine, now=WEDNESDAY_NOON + timedelta(days=1))
    assert await _dates_by_member(engine) == {member: [JUNE_11, JUNE_12]}
    assert await _plan(engine) == 1
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11, JUNE_12]}


async def test_a_new_member_is_planned_by_the_next_run(engine: AsyncEngine) -> None:
    org, _, _ = await _acme(engine)
    await _plan(engine)
    async with engine.begin() as conn:
        newcomer = await _member(conn, org)
    assert await _plan(engine, now=A_MINUTE_LATER) == 2
    assert (await _dates_by_member(engine))[newcomer] == [JUNE_10, JUNE_11]


async def test_a_member_moving_zone_is_planned_in_the_new_zone(engine: AsyncEngine) -> None:
    _, member, _ = await _acme(engine)
    await _plan(engine)
    await _change(
        engine, update(m.Member).where(m.Member.id == member).values(timezone="Pacific/Chatham")
    )
    assert await _plan(engine, now=A_MINUTE_LATER) == 1  # Chatham's Friday is due Thursday
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11, JUNE_12]}


async def test_a_schedule_given_more_weekdays_plans_them(engine: AsyncEngine) -> None:
    _, member, schedule = await _acme(engine, weekdays=weekdays_mask([3]))  # Thursdays
    await _plan(engine)
    assert await _dates_by_member(engine) == {member: [JUNE_11]}
    await _change(
        engine, update(m.Schedule).where(m.Schedule.id == schedule).values(weekdays=0b1111111)
    )
    assert await _plan(engine, now=A_MINUTE_LATER) == 1
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11]}


async def test_a_schedule_moved_to_a_later_time_plans_today(engine: AsyncEngine) -> None:
    _, member, schedule = await _acme(engine, at=time(1))  # today's 01:00 is too late
    await _plan(engine)
    assert await _dates_by_member(engine) == {member: [JUNE_11]}
    await _change(
        engine, update(m.Schedule).where(m.Schedule.id == schedule).values(local_time=time(11))
    )
    assert await _plan(engine, now=A_MINUTE_LATER) == 1
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11]}


async def test_a_listed_participant_is_planned_by_the_next_run(engine: AsyncEngine) -> None:
    org, _, schedule = await _acme(engine, participants="listed")
    async with engine.begin() as conn:
        listed = await _member(conn, org)
    await _plan(engine)
    assert await _rows(engine) == []
    await _change(
        engine, insert(m.ScheduleParticipant).values(schedule_id=schedule, member_id=listed)
    )
    assert await _plan(engine, now=A_MINUTE_LATER) == 2
    assert await _dates_by_member(engine) == {listed: [JUNE_10, JUNE_11]}


async def test_a_reactivated_member_is_planned_by_the_next_run(engine: AsyncEngine) -> None:
    _, member, _ = await _acme(engine)
    async with engine.begin() as conn:
        await conn.execute(update(m.Member).where(m.Member.id == member).values(active=False))
    await _plan(engine)
    await _change(engine, update(m.Member).where(m.Member.id == member).values(active=True))
    assert await _plan(engine, now=A_MINUTE_LATER) == 2
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11]}


async def test_a_vacation_ended_early_in_the_database_is_planned(engine: AsyncEngine) -> None:
    """As the admin API does it: the vacation column cleared, no command involved."""
    _, member, _ = await _acme(engine)
    await _change(engine, update(m.Member).values(vacation_until=date(2026, 6, 20)))
    await _plan(engine)
    await _change(engine, update(m.Member).where(m.Member.id == member).values(vacation_until=None))
    assert await _plan(engine, now=A_MINUTE_LATER) == 2
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11]}


async def test_a_reenabled_agent_is_planned_by_the_next_run(engine: AsyncEngine) -> None:
    _, member, _ = await _acme(engine)
    await _plan(engine)
    await _change(engine, update(m.Organization).values(disabled_agents=["daily"]))
    await _change(engine, m.CheckinSession.__table__.delete())
    assert await _plan(engine, now=A_MINUTE_LATER) == 0
    await _change(engine, update(m.Organization).values(disabled_agents=[]))
    assert await _plan(engine, now=A_MINUTE_LATER) == 2
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11]}


async def test_deleted_sessions_are_planned_again(engine: AsyncEngine) -> None:
    _, member, _ = await _acme(engine)
    await _plan(engine)
    await _change(engine, m.CheckinSession.__table__.delete())
    assert await _plan(engine, now=A_MINUTE_LATER) == 2
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_11]}


CHANGES = {
    "org holiday region": update(m.Organization).values(holiday_region="DE"),
    "member holiday region": update(m.Member).values(holiday_region="FR"),
    "holidays off": update(m.Member).values(holidays_off=True),
    "preferred time": update(m.Member).values(preferred_time=time(10)),
    "pause": update(m.Member).values(paused_until=date(2026, 6, 9)),
    "plan status": update(m.Organization).values(plan_status="trialing"),
    "trial end": update(m.Organization).values(trial_ends_at=A_MINUTE_LATER + timedelta(days=9)),
    "subscription": update(m.Organization).values(stripe_subscription_id="sub_1"),
}


async def test_every_change_to_what_planning_reads_makes_the_next_run_plan_again(
    engine: AsyncEngine,
) -> None:
    await _acme(engine)
    await _plan(engine)
    for name, change in CHANGES.items():
        await _change(engine, change)
        with statements(engine) as sent:
            await _plan(engine, now=A_MINUTE_LATER)
        assert _inserts_sessions(sent), name
        with statements(engine) as sent:
            await _plan(engine, now=A_MINUTE_LATER)
        assert not _inserts_sessions(sent), name


async def test_a_change_to_other_member_columns_keeps_the_watermark(engine: AsyncEngine) -> None:
    _, _, schedule = await _acme(engine)
    await _plan(engine)
    before = await _watermark(engine, schedule)
    await _change(engine, update(m.Member).values(display_name="Renamed", email_opt_out=True))
    with statements(engine) as sent:
        await _plan(engine, now=A_MINUTE_LATER)
    assert len(sent) == 1
    assert await _watermark(engine, schedule) == before


async def test_a_change_committed_while_planning_leaves_the_watermark_behind(
    engine: AsyncEngine, db_url: str
) -> None:
    """The generation is read first: a member added after that read is not missed."""
    org, _, schedule = await _acme(engine)
    writer = make_sync_engine(db_url)

    added: list[bool] = []

    def add_member_once(*args: Any) -> None:
        if not added:
            added.append(True)
            with writer.begin() as conn:
                values = {"org_id": org, "display_name": "Late", "timezone": "UTC"}
                conn.execute(insert(m.Member).values(**values))

    event.listen(engine.sync_engine, "after_cursor_execute", add_member_once)
    try:
        await _plan(engine)  # the member arrives right after the schedules were read
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", add_member_once)
        writer.dispose()
    async with engine.connect() as conn:
        generation = await conn.scalar(select(m.Organization.plan_generation))
    assert (await _watermark(engine, schedule)).generation < generation
    await _plan(engine, now=A_MINUTE_LATER)
    assert len(await _rows(engine)) == 4


async def test_concurrent_planners_after_a_change_create_each_session_once(
    engine: AsyncEngine, db_url: str
) -> None:
    org, _, _ = await _acme(engine)
    await _plan(engine)
    async with engine.begin() as conn:
        rows = [{"org_id": org, "display_name": f"N{i}", "timezone": "UTC"} for i in range(300)]
        await conn.execute(insert(m.Member), rows)
    engines = [make_async_engine(db_url) for _ in range(2)]
    try:
        counts = await asyncio.gather(*(_plan(e, now=A_MINUTE_LATER) for e in engines))
    finally:
        for other in engines:
            await other.dispose()
    assert sum(counts) == 600
    assert len(await _rows(engine)) == 602


def test_the_planning_triggers_exist_at_head(db_url: str) -> None:
    """A later migration that rebuilds one of these tables on SQLite must recreate them."""
    assert _triggers(db_url) >= PLANNING_TRIGGERS


async def test_postgresql_bumps_an_org_once_a_transaction(engine: AsyncEngine) -> None:
    """A sync adding members one statement each updates the org row once, not per row."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite bumps per row: it keeps no versions of the org row to walk")
    org, _, _ = await _acme(engine)
    generation = select(m.Organization.plan_generation).where(m.Organization.id == org)
    async with engine.begin() as conn:
        before = await conn.scalar(generation)
    async with engine.begin() as conn:
        for name in ("A", "B", "C"):
            await _member(conn, org, display_name=name)
        await conn.execute(update(m.Member).values(timezone="Asia/Tokyo"))
    async with engine.connect() as conn:
        assert await conn.scalar(generation) == before + 1


def _triggers(database_url: str) -> set[str]:
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            else:
                query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            return set(conn.exec_driver_sql(query).scalars())
    finally:
        engine.dispose()


def test_the_last_migration_down_and_up_again_keeps_the_planning_triggers(
    blank_db_url: str,
) -> None:
    """SQLite's batch mode rebuilds a table without its triggers: a migration after 0020
    that rebuilds members, schedules, organizations or checkin_sessions must recreate them."""
    upgrade_to_head(blank_db_url)
    migrate(blank_db_url, "-1", down=True)
    migrate(blank_db_url, "head")
    assert _triggers(blank_db_url) >= PLANNING_TRIGGERS

"""plan_sessions against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core import planning
from core.planning import plan_sessions
from core.schedule_time import ALL_WEEKDAYS, weekdays_mask
from core.store import models as m
from core.store.engine import make_async_engine, make_sessionmaker

GRACE = timedelta(hours=2)
WEDNESDAY_NOON = datetime(2026, 6, 10, 12, tzinfo=UTC)
JUNE_10, JUNE_11, JUNE_12 = date(2026, 6, 10), date(2026, 6, 11), date(2026, 6, 12)


async def _org(conn: AsyncConnection, slug: str, **fields: Any) -> int:
    values = {"slug": slug, "name": slug, "plan_status": "active", "disabled_agents": []}
    result = await conn.execute(
        insert(m.Organization).values(**(values | fields)).returning(m.Organization.id)
    )
    return int(result.scalar_one())


async def _member(conn: AsyncConnection, org_id: int, zone: str = "UTC", **fields: Any) -> int:
    values = {"org_id": org_id, "display_name": "M", "timezone": zone} | fields
    result = await conn.execute(insert(m.Member).values(**values).returning(m.Member.id))
    return int(result.scalar_one())


async def _schedule(
    conn: AsyncConnection,
    org_id: int,
    *,
    agent: str = "daily",
    weekdays: int = ALL_WEEKDAYS,
    at: time = time(9),
    **fields: Any,
) -> int:
    agent_id = await conn.scalar(
        select(m.Agent.id).where(m.Agent.slug == agent, m.Agent.org_id.is_(None))
    )
    values = {"org_id": org_id, "agent_id": agent_id, "weekdays": weekdays, "local_time": at}
    result = await conn.execute(
        insert(m.Schedule).values(**(values | fields)).returning(m.Schedule.id)
    )
    return int(result.scalar_one())


async def _plan(engine: AsyncEngine, *, now: datetime = WEDNESDAY_NOON, **kw: Any) -> int:
    return await plan_sessions(sessions=make_sessionmaker(engine), now=now, grace=GRACE, **kw)


async def _rows(engine: AsyncEngine) -> list[Any]:
    s = m.CheckinSession
    query = select(s.member_id, s.schedule_id, s.local_date, s.due_at, s.expires_at, s.state)
    async with engine.connect() as conn:
        return list((await conn.execute(query.order_by(s.member_id, s.local_date))).all())


async def _dates_by_member(engine: AsyncEngine) -> dict[int, list[date]]:
    found: dict[int, list[date]] = {}
    for row in await _rows(engine):
        found.setdefault(row.member_id, []).append(row.local_date)
    return found


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_each_member_is_due_at_the_local_time_of_their_own_zone(engine: AsyncEngine) -> None:
    zones = ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe"]
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        ids = {zone: await _member(conn, org, zone) for zone in zones}
        await _schedule(conn, org)
    created = await _plan(engine)
    due = {(r.member_id, r.local_date): r.due_at for r in await _rows(engine)}
    expected = {
        (ids["UTC"], JUNE_10): _utc(2026, 6, 10, 9),
        (ids["UTC"], JUNE_11): _utc(2026, 6, 11, 9),
        (ids["America/New_York"], JUNE_10): _utc(2026, 6, 10, 13),
        (ids["America/New_York"], JUNE_11): _utc(2026, 6, 11, 13),
        (ids["Asia/Kolkata"], JUNE_11): _utc(2026, 6, 11, 3, 30),
        # Kolkata's, Chatham's and Lord Howe's June 10 sessions were due more than three
        # hours before noon UTC: too late to send, so not planned. UTC's is just in time.
        (ids["Pacific/Chatham"], JUNE_11): _utc(2026, 6, 10, 20, 15),
        (ids["Pacific/Chatham"], JUNE_12): _utc(2026, 6, 11, 20, 15),
        (ids["Australia/Lord_Howe"], JUNE_11): _utc(2026, 6, 10, 22, 30),
        (ids["Australia/Lord_Howe"], JUNE_12): _utc(2026, 6, 11, 22, 30),
    }
    assert due == expected
    assert created == len(expected)


async def test_sessions_are_scheduled_and_expire_after_the_local_day_plus_grace(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        await _member(conn, org, "America/New_York")
        await _schedule(conn, org, weekdays=weekdays_mask([6]), at=time(2, 30))
    assert await _plan(engine, now=_utc(2026, 3, 7, 12)) == 1
    [row] = await _rows(engine)
    assert row.local_date == date(2026, 3, 8)
    assert row.due_at == _utc(2026, 3, 8, 7)  # 02:30 does not exist: 03:00 EDT
    assert row.expires_at == _utc(2026, 3, 9, 4) + GRACE  # midnight EDT
    assert row.state == "scheduled"


async def test_fall_back_day_takes_the_first_occurrence(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        await _member(conn, org, "America/New_York")
        await _schedule(conn, org, weekdays=weekdays_mask([6]), at=time(1, 30))
    await _plan(engine, now=_utc(2026, 10, 31, 12))
    [row] = await _rows(engine)
    assert row.due_at == _utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST
    assert row.expires_at == _utc(2026, 11, 2, 5) + GRACE  # midnight EST


async def test_only_the_schedule_weekdays_are_planned(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        member = await _member(conn, org)
        await _schedule(conn, org, weekdays=weekdays_mask([0, 2, 4]))  # Mon, Wed, Fri
    await _plan(engine, now=_utc(2026, 6, 9, 6), horizon=timedelta(days=4))  # a Tuesday
    assert await _dates_by_member(engine) == {member: [JUNE_10, JUNE_12]}


async def test_away_and_inactive_members_are_skipped(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        on_vacation = await _member(conn, org, vacation_until=JUNE_10)
        paused = await _member(conn, org, paused_until=JUNE_11)
        await _member(conn, org, active=False)
        back = await _member(conn, org, paused_until=date(2026, 6, 9))
        await _schedule(conn, org)
    await _plan(engine)
    found = await _dates_by_member(engine)
    assert found == {on_vacation: [JUNE_11], back: [JUNE_10, JUNE_11]}
    assert paused not in found


@pytest.mark.parametrize(
    ("plan_status", "ends_at", "planned"),
    [
        ("active", None, True),
        ("trialing", None, True),
        ("trialing", WEDNESDAY_NOON + timedelta(hours=1), True),
        ("trialing", WEDNESDAY_NOON - timedelta(hours=1), False),
        ("past_due", WEDNESDAY_NOON + timedelta(days=1), True),
        ("past_due", WEDNESDAY_NOON - timedelta(hours=1), False),
        ("past_due", None, False),
        ("canceled", None, False),
    ],
)
async def test_only_orgs_whose_plan_delivers_are_planned(
    engine: AsyncEngine, plan_status: str, ends_at: datetime | None, planned: bool
) -> None:
    """`ends_at`: the trial's end (trialing) or the grace period's (past_due)."""
    ends = {"grace_ends_at" if plan_status == "past_due" else "trial_ends_at": ends_at}
    async with engine.begin() as conn:
        org = await _org(conn, "acme", plan_status=plan_status, **ends)
        await _member(conn, org)
        await _schedule(conn, org)
    assert (await _plan(engine) > 0) is planned


async def test_inactive_schedules_and_disabled_agents_are_skipped(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme", disabled_agents=["daily"])
        await _member(conn, org)
        await _schedule(conn, org, agent="daily")
        await _schedule(conn, org, agent="retro", active=False)
        pulse = await _schedule(conn, org, agent="pulse")
    await _plan(engine)
    assert {row.schedule_id for row in await _rows(engine)} == {pulse}


async def test_listed_schedules_plan_only_their_participants(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        listed = await _member(conn, org)
        await _member(conn, org)
        schedule = await _schedule(conn, org, participants="listed")
        await conn.execute(
            insert(m.ScheduleParticipant).values(schedule_id=schedule, member_id=listed)
        )
    await _plan(engine)
    assert await _dates_by_member(engine) == {listed: [JUNE_10, JUNE_11]}


async def test_a_preferred_time_replaces_the_schedule_time(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        early = await _member(conn, org, "Asia/Kolkata", preferred_time=time(7, 15))
        usual = await _member(conn, org, "Asia/Kolkata")
        await _schedule(conn, org)
    await _plan(engine)
    due = {(r.member_id, r.local_date): r.due_at for r in await _rows(engine)}
    assert due[(early, JUNE_11)] == _utc(2026, 6, 11, 1, 45)
    assert due[(usual, JUNE_11)] == _utc(2026, 6, 11, 3, 30)


async def test_an_unknown_zone_is_planned_as_utc(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        await _member(conn, org, "Mars/Olympus_Mons")
        await _schedule(conn, org)
    await _plan(engine)
    assert [r.due_at for r in await _rows(engine)] == [_utc(2026, 6, 10, 9), _utc(2026, 6, 11, 9)]


async def test_each_org_keeps_its_own_schedule_time(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        early_org, late_org = await _org(conn, "early"), await _org(conn, "late")
        early = await _member(conn, early_org, "Asia/Kolkata")
        late = await _member(conn, late_org, "Asia/Kolkata")
        await _schedule(conn, early_org, at=time(8))
        await _schedule(conn, late_org, at=time(10))
    await _plan(engine, now=_utc(2026, 6, 10, 1))
    due = {(r.member_id, r.local_date): r.due_at for r in await _rows(engine)}
    assert due == {
        (early, JUNE_10): _utc(2026, 6, 10, 2, 30),
        (early, JUNE_11): _utc(2026, 6, 11, 2, 30),
        (late, JUNE_10): _utc(2026, 6, 10, 4, 30),
        (late, JUNE_11): _utc(2026, 6, 11, 4, 30),
    }


async def test_a_naive_now_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await _plan(engine, now=datetime(2026, 6, 10, 12))


async def _populate(engine: AsyncEngine, *, members: int) -> int:
    """Members over three zones, three schedules; returns the sessions to expect."""
    zones = ["UTC", "America/New_York", "Pacific/Chatham"]
    async with engine.begin() as conn:
        org = await _org(conn, "acme")
        rows = [
            {"org_id": org, "display_name": f"M{i}", "timezone": zones[i % 3]}
            for i in range(members)
        ]
        await conn.execute(insert(m.Member), rows)
        for agent in ("daily", "pulse", "retro"):
            await _schedule(conn, org, agent=agent)
    created = await _plan(engine)
    async with engine.begin() as conn:
        await conn.execute(m.CheckinSession.__table__.delete())
    assert created > members  # every member has more than one session to plan
    return created


async def test_a_second_run_creates_nothing(engine: AsyncEngine) -> None:
    expected = await _populate(engine, members=30)
    assert await _plan(engine) == expected
    assert await _plan(engine) == 0
    assert len(await _rows(engine)) == expected


async def test_small_batches_plan_the_same_sessions(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = await _populate(engine, members=30)
    monkeypatch.setattr(planning, "SCHEDULE_BATCH", 2)
    monkeypatch.setattr(planning, "SLOT_BATCH", 2)
    assert await _plan(engine) == expected
    assert await _distinct_keys(engine) == (expected, expected)


async def _distinct_keys(engine: AsyncEngine) -> tuple[int, int]:
    s = m.CheckinSession
    keys = select(s.schedule_id, s.member_id, s.local_date).distinct().subquery()
    async with engine.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(s))
        distinct = await conn.scalar(select(func.count()).select_from(keys))
    return int(total or 0), int(distinct or 0)


async def test_concurrent_planners_create_each_session_once(
    engine: AsyncEngine, db_url: str
) -> None:
    expected = await _populate(engine, members=600)
    engines = [make_async_engine(db_url) for _ in range(2)]
    try:
        counts = await asyncio.gather(*(_plan(e) for e in engines))
    finally:
        for other in engines:
            await other.dispose()
    assert sum(counts) == expected
    assert await _distinct_keys(engine) == (expected, expected)


def _plan_in_process(db_url: str, start: Any, results: Any) -> None:
    async def run() -> int:
        engine = make_async_engine(db_url)
        try:
            start.wait()
            return await _plan(engine)
        finally:
            await engine.dispose()

    results.put(asyncio.run(run()))


async def test_planners_in_two_processes_create_each_session_once(
    engine: AsyncEngine, db_url: str
) -> None:
    expected = await _populate(engine, members=3000)
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_plan_in_process, args=(db_url, start, results)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        await asyncio.to_thread(worker.join, 120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert results.get(timeout=5) + results.get(timeout=5) == expected
    assert await _distinct_keys(engine) == (expected, expected)

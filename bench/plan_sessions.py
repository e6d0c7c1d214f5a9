"""Benchmark plan_sessions on PostgreSQL against a bare INSERT … SELECT of the same rows.

    python bench/plan_sessions.py [--members 100000] [--database-url postgresql://…]

The server comes from --database-url or TEST_DATABASE_URL (a scratch database is
created on it and dropped afterwards), else a throwaway cluster is started from the
local PostgreSQL binaries. Goals: plan_sessions on an empty table within 1.2x the bare
INSERT, and a rerun a minute later with nothing new (the watermark, core/plan_watermark.py)
at most 2% of the first run. Also shown: a run an hour later, which plans only the
slots its horizon newly reaches.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time as clock
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.planning import plan_sessions
from core.schedule_time import candidate_slots, weekdays_mask
from core.store import models as m
from core.store.engine import make_async_engine, make_sessionmaker, make_sync_engine
from core.store.migrate import upgrade_to_head
from tests.postgres import find_bindir, throwaway_cluster

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday: all three schedules fall due
A_MINUTE_LATER = NOW + timedelta(minutes=1)
AN_HOUR_LATER = NOW + timedelta(hours=1)
FIRST_RUN_GOAL = 1.2  # x the bare INSERT
RERUN_GOAL = 0.02  # of the first run
HORIZON = timedelta(hours=36)
GRACE = timedelta(hours=2)
SCHEDULES = {  # agent slug: (weekdays, local time)
    "daily": (weekdays_mask(range(5)), time(9)),
    "pulse": (weekdays_mask([4]), time(16)),
    "retro": (weekdays_mask([3]), time(17, 30)),
}

BARE_INSERT = """
INSERT INTO checkin_sessions (org_id, schedule_id, member_id, agent_id, local_date, due_at,
                              expires_at, state, delivery_attempts, version, brain_state)
SELECT s.org_id, s.id, mb.id, s.agent_id, v.local_date, v.due_at, v.expires_at,
       'scheduled', 0, 0, '{}'
FROM schedules s
JOIN members mb ON mb.org_id = s.org_id
JOIN unnest(CAST(:zones AS text[]), CAST(:times AS time[]), CAST(:weekdays AS int[]),
            CAST(:dates AS date[]), CAST(:dues AS timestamptz[]),
            CAST(:expiries AS timestamptz[]))
     AS v(timezone, local_time, weekdays, local_date, due_at, expires_at)
  ON v.timezone = mb.timezone AND v.local_time = s.local_time AND v.weekdays = s.weekdays
"""

FINGERPRINT = """
SELECT count(*), coalesce(sum(hashtext(concat_ws(',', org_id, schedule_id, member_id, agent_id,
       local_date, due_at, expires_at, state))), 0)
FROM checkin_sessions
"""


@dataclass(frozen=True)
class Figures:
    created: int
    first: float
    bare: float
    rerun: float
    later: float
    later_created: int


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """A fresh database on the server, dropped afterwards."""
    name = f"vizdots_bench_{os.getpid()}"
    admin = make_sync_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL is needed: pass --database-url, set TEST_DATABASE_URL or install it")
    with throwaway_cluster(bindir) as started:
        yield started


def zones(count: int) -> list[str]:
    valid = []
    for name in sorted(available_timezones()):
        try:
            ZoneInfo(name)
        except (KeyError, ValueError):
            continue
        valid.append(name)
    return valid[:count]


def load(engine: Engine, *, members: int, zone_names: list[str]) -> None:
    """One org on the active plan, its members spread evenly over the zones, 3 schedules."""
    with engine.begin() as connection:
        org = connection.execute(
            insert(m.Organization)
            .values(slug="bench", name="Bench", plan_status="active")
            .returning(m.Organization.id)
        ).scalar_one()
        rows = [
            {"org_id": org, "display_name": f"M{i}", "timezone": zone_names[i % len(zone_names)]}
            for i in range(members)
        ]
        connection.execute(insert(m.Member), rows)
        for slug, (weekdays, at) in SCHEDULES.items():
            agent = connection.execute(
                select(m.Agent.id).where(m.Agent.slug == slug, m.Agent.org_id.is_(None))
            ).scalar_one()
            connection.execute(
                insert(m.Schedule).values(
                    org_id=org, agent_id=agent, weekdays=weekdays, local_time=at
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def slot_arrays(zone_names: list[str]) -> dict[str, list[object]]:
    """The same slots plan_sessions computes, as the bare statement's array parameters."""
    arrays: dict[str, list[object]] = {
        key: [] for key in ("zones", "times", "weekdays", "dates", "dues", "expiries")
    }
    for name in zone_names:
        for weekdays, at in SCHEDULES.values():
            for slot in candidate_slots(
                weekdays=weekdays, at=at, zone=ZoneInfo(name), now=NOW, horizon=HORIZON,
                grace=GRACE,
            ):  # fmt: skip
                values = (name, at, weekdays, slot.local_date, slot.due_at, slot.expires_at)
                for key, value in zip(arrays, values, strict=True):
                    arrays[key].append(value)
    return arrays


async def timed_plan(engine: AsyncEngine, now: datetime = NOW) -> tuple[float, int]:
    start = clock.perf_counter()
    created = await plan_sessions(
        sessions=make_sessionmaker(engine), now=now, horizon=HORIZON, grace=GRACE
    )
    return clock.perf_counter() - start, created


async def timed_bare(engine: AsyncEngine, arrays: dict[str, list[object]]) -> tuple[float, int]:
    start = clock.perf_counter()
    async with engine.begin() as connection:
        result = await connection.execute(text(BARE_INSERT), arrays)
    return clock.perf_counter() - start, result.rowcount


async def fingerprint(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        count, digest = (await connection.execute(text(FINGERPRINT))).one()
    return int(count), int(digest)


async def reset(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        # a trigger (migration 0020) empties plan_watermarks too
        await connection.execute(text("TRUNCATE checkin_sessions CASCADE"))
        await connection.execute(text("VACUUM ANALYZE checkin_sessions"))


async def one_round(engine: AsyncEngine, arrays: dict[str, list[object]]) -> Figures:
    """plan_sessions on an empty table, a rerun a minute later and one an hour later,
    then the bare INSERT on an empty table (which must make the first run's rows)."""
    await reset(engine)
    first, created = await timed_plan(engine)
    planned = await fingerprint(engine)
    again, nothing = await timed_plan(engine, A_MINUTE_LATER)
    if nothing:
        sys.exit(f"the rerun created {nothing} sessions")
    later, later_created = await timed_plan(engine, AN_HOUR_LATER)
    await reset(engine)
    bare, inserted = await timed_bare(engine, arrays)
    if (inserted, await fingerprint(engine)) != (created, planned):
        sys.exit(f"row mismatch: plan_sessions made {created}, the bare INSERT {inserted}")
    return Figures(created, first, bare, again, later, later_created)


async def compare(url: str, *, zone_names: list[str], rounds: int) -> Figures:
    """Best of `rounds` for each figure: a shared machine only ever adds time."""
    engine = make_async_engine(url)
    arrays = slot_arrays(zone_names)
    try:
        results = [await one_round(engine, arrays) for _ in range(rounds)]
    finally:
        await engine.dispose()
    return Figures(
        created=results[0].created,
        first=min(r.first for r in results),
        bare=min(r.bare for r in results),
        rerun=min(r.rerun for r in results),
        later=min(r.later for r in results),
        later_created=results[0].later_created,
    )


def report(figures: Figures, *, rounds: int) -> None:
    print(f"sessions created:        {figures.created} (best of {rounds} rounds below)")
    print(f"plan_sessions:           {figures.first:.3f} s")
    print(f"bare INSERT ... SELECT:  {figures.bare:.3f} s")
    ratio = figures.first / figures.bare
    print(f"ratio:                   {ratio:.2f} (goal <= {FIRST_RUN_GOAL})")
    share = figures.rerun / figures.first
    print(
        f"rerun a minute later:    {figures.rerun:.4f} s = {share:.2%} of the first"
        f" (goal <= {RERUN_GOAL:.0%})"
    )
    print(f"run an hour later:       {figures.later:.3f} s, {figures.later_created} new sessions")
    met = ratio <= FIRST_RUN_GOAL and share <= RERUN_GOAL
    print("goals met" if met else "goals NOT met (a shared machine only ever adds time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--zones", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    zone_names = zones(args.zones)
    with postgres_server(args.database_url) as server, scratch_database(server) as url:
        upgrade_to_head(url)
        sync = make_sync_engine(url)
        load(sync, members=args.members, zone_names=zone_names)
        sync.dispose()
        print(f"members: {args.members} over {len(zone_names)} zones, {len(SCHEDULES)} schedules")
        figures = asyncio.run(compare(url, zone_names=zone_names, rounds=args.rounds))
    report(figures, rounds=args.rounds)


if __name__ == "__main__":
    main()

"""Planning: create every check-in session due soon, once, in each member's own zone.

Set-based for speed: Python computes due and expiry times only per distinct
(timezone, local time, weekdays) combination — a few hundred, whatever the number
of members — and one INSERT … SELECT joins members and schedules to those computed
slots (bound as arrays on PostgreSQL, as a VALUES list on SQLite).

Incremental: a watermark per schedule (core/plan_watermark.py) records what was
covered, and database triggers invalidate it whenever what planning reads changes; a
run with nothing new reads one row a schedule, and a run whose horizon reaches new
slots plans only those.

Idempotent: rows that already exist are skipped by NOT EXISTS (so a rerun inserts,
locks and sorts nothing), and ON CONFLICT (schedule_id, member_id, local_date) DO
NOTHING settles the race with a concurrent planner. Rows go in key order, so two
planners on PostgreSQL wait for each other instead of deadlocking.

Public holidays: Python lists the holidays of each distinct region (the orgs' and the
members' own) among the dates being planned, and the same statement binds them as a
second small table; a member's session on a public holiday of theirs is inserted
already skipped, with the reason "public holiday", so the day is decided once and seen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    BindParameter,
    ColumnClause,
    ColumnElement,
    Date,
    Insert,
    Integer,
    Select,
    String,
    Subquery,
    Time,
    and_,
    bindparam,
    case,
    column,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import ParticipantsKind, SessionState
from core.plan_policy import delivering
from core.plan_watermark import (
    LONGEST_WAIT,
    Coverage,
    covered,
    next_due_after,
    plan_after,
    record,
)
from core.public_holidays import PUBLIC_HOLIDAY, holiday_dates
from core.schedule_time import candidate_slots
from core.store.models import (
    Agent,
    CheckinSession,
    Member,
    Organization,
    PlanWatermark,
    Schedule,
    ScheduleParticipant,
)
from core.store.types import UTCDateTime

log = logging.getLogger("vizdots.planning")

T = TypeVar("T")

#: Batch sizes keep every statement under SQLite's 32,766 bound parameters.
SCHEDULE_BATCH = 1_000
SLOT_BATCH = 4_000  # 6 parameters a slot
UNIQUE_KEY = ("schedule_id", "member_id", "local_date")
#: SQLAlchemy reports an INSERT … SELECT's rowcount only when asked to keep it.
_COUNT_ROWS = {"preserve_rowcount": True}

#: Holidays ride along with each slot batch: a few days × the regions in use, two
#: parameters each, well within what SLOT_BATCH leaves of SQLite's limit.

#: (timezone, local time, weekdays, local date, due at, expires at)
SlotRow = tuple[str, time, int, date, datetime, datetime]
#: (region, local date): a public holiday among the dates being planned
HolidayRow = tuple[str, date]


@dataclass(frozen=True, slots=True)
class _Combo:
    timezone: str
    at: time
    weekdays: int


@dataclass(frozen=True, slots=True)
class _Schedule:
    id: int
    org_id: int
    weekdays: int
    local_time: time
    #: The org's plan_generation, read before anything else planning reads.
    generation: int
    #: Only slots due after this can be new (its watermark); None: plan every slot.
    after: datetime | None


class _Zones(dict[str, ZoneInfo]):
    """Zones by name, each looked up once a run (ZoneInfo's own cache keeps only a few)."""

    def __missing__(self, name: str) -> ZoneInfo:
        zone = self[name] = _zone(name)
        return zone


async def plan_sessions(
    *,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    horizon: timedelta = timedelta(hours=36),
    grace: timedelta,
) -> int:
    """Create the sessions due by `now + horizon` and not yet expired; return how many.

    Safe to run any number of times, from any number of processes at once.
    """
    if now.tzinfo is None:
        raise ValueError("plan_sessions needs a timezone-aware `now`")
    async with sessions() as db:
        schedules = await _eligible_schedules(db, now=now, horizon=horizon, grace=grace)
    by_start: dict[datetime | None, list[_Schedule]] = {}
    for schedule in schedules:
        by_start.setdefault(schedule.after, []).append(schedule)
    created = 0
    for group in by_start.values():
        for batch in _batches(group, SCHEDULE_BATCH):
            created += await _plan_batch(
                sessions, schedules=batch, now=now, horizon=horizon, grace=grace
            )
    log.info("planned %d new sessions for %d schedules not covered", created, len(schedules))
    return created


async def _plan_batch(
    sessions: async_sessionmaker[AsyncSession],
    *,
    schedules: Sequence[_Schedule],
    now: datetime,
    horizon: timedelta,
    grace: timedelta,
) -> int:
    async with sessions() as db:
        combos = await _combos(db, schedules=schedules)
        regions = await _regions(db, org_ids={schedule.org_id for schedule in schedules})
    zones = _Zones()
    every = set().union(*combos.values())
    rows = _slot_rows(every, zones=zones, now=now, horizon=horizon, grace=grace)
    if (after := schedules[0].after) is not None:  # a batch shares its watermark's end
        rows = [row for row in rows if row[4] > after]
    days = {row[3] for row in rows}
    holidays = [(region, day) for region in regions for day in holiday_dates(region, days)]
    schedule_ids = [schedule.id for schedule in schedules]
    created = 0
    for chunk in _batches(rows, SLOT_BATCH):
        # One transaction per statement: on SQLite it starts as a write (no stale
        # read snapshot to upgrade), on PostgreSQL it holds key locks only briefly.
        async with sessions.begin() as db:
            dialect = (await db.connection()).dialect.name
            statement = _insert(dialect, schedule_ids=schedule_ids, rows=chunk, holidays=holidays)
            result = await db.execute(statement, execution_options=_COUNT_ROWS)
            created += int(result.rowcount)  # type: ignore[attr-defined]
    coverage = _coverage(schedules, combos, zones=zones, now=now, horizon=horizon, grace=grace)
    async with sessions.begin() as db:  # only once the sessions are committed
        await record(db, dialect=(await db.connection()).dialect.name, coverage=coverage)
    return created


def _coverage(
    schedules: Sequence[_Schedule],
    combos: dict[int, set[_Combo]],
    *,
    zones: _Zones,
    now: datetime,
    horizon: timedelta,
    grace: timedelta,
) -> list[Coverage]:
    """The watermark of each schedule just planned up to `now + horizon`."""
    until = now + horizon
    next_due: dict[_Combo, datetime] = {}
    for combo in set().union(*combos.values()):
        zone = zones[combo.timezone]
        next_due[combo] = next_due_after(
            weekdays=combo.weekdays, at=combo.at, zone=zone, after=until
        )
    return [
        Coverage(
            schedule_id=schedule.id,
            generation=schedule.generation,
            planned_from=now,
            planned_until=until,
            next_due_at=min(
                (next_due[combo] for combo in combos[schedule.id]), default=until + LONGEST_WAIT
            ),
            grace_seconds=int(grace.total_seconds()),
        )
        for schedule in schedules
    ]


async def _eligible_schedules(
    db: AsyncSession, *, now: datetime, horizon: timedelta, grace: timedelta
) -> list[_Schedule]:
    """Active schedules of orgs whose plan delivers, whose agent the org has not disabled,
    and whose watermark does not cover `now + horizon` already."""
    query = (
        select(Schedule, Agent.slug, Organization.disabled_agents)
        .add_columns(Organization.plan_generation, plan_after(now=now, grace=grace))
        .join(Organization, Organization.id == Schedule.org_id)
        .join(Agent, Agent.id == Schedule.agent_id)
        .outerjoin(PlanWatermark, PlanWatermark.schedule_id == Schedule.id)
        .where(Schedule.active == true(), delivering(now))
        .where(~covered(now=now, until=now + horizon, grace=grace))
        .order_by(Schedule.id)
    )
    return [
        _Schedule(s.id, s.org_id, s.weekdays, s.local_time, generation, after)
        for s, slug, disabled, generation, after in (await db.execute(query)).all()
        if slug not in (disabled or ())
    ]


def _effective_time() -> ColumnElement[time]:
    """A member's preferred time replaces the schedule's local time."""
    return func.coalesce(Member.preferred_time, Schedule.local_time)


async def _combos(db: AsyncSession, *, schedules: Sequence[_Schedule]) -> dict[int, set[_Combo]]:
    """The distinct (timezone, local time, weekdays) each schedule's members need.

    The database only lists each org's distinct (timezone, preferred time): one scan
    of members, whatever the number of schedules.
    """
    by_org: dict[int, list[_Schedule]] = {}
    for schedule in schedules:
        by_org.setdefault(schedule.org_id, []).append(schedule)
    query = (
        select(Member.org_id, Member.timezone, Member.preferred_time)
        .where(Member.org_id.in_(by_org), Member.active == true())
        .distinct()
    )
    found: dict[int, set[_Combo]] = {schedule.id: set() for schedule in schedules}
    for org_id, timezone, preferred in (await db.execute(query)).all():
        for schedule in by_org[org_id]:
            found[schedule.id].add(
                _Combo(timezone, preferred or schedule.local_time, schedule.weekdays)
            )
    return found


async def _regions(db: AsyncSession, *, org_ids: set[int]) -> set[str]:
    """The distinct public-holiday regions of these orgs and of their members' own."""
    own = select(Member.holiday_region).where(
        Member.org_id.in_(org_ids), Member.active == true(), Member.holiday_region.is_not(None)
    )
    orgs = select(Organization.holiday_region).where(
        Organization.id.in_(org_ids), Organization.holiday_region.is_not(None)
    )
    found = await db.scalars(own.union(orgs))
    return {region for region in found if region}


def _slot_rows(
    combos: Iterable[_Combo],
    *,
    zones: _Zones,
    now: datetime,
    horizon: timedelta,
    grace: timedelta,
) -> list[SlotRow]:
    rows: list[SlotRow] = []
    for combo in combos:
        zone = zones[combo.timezone]
        slots = candidate_slots(
            weekdays=combo.weekdays, at=combo.at, zone=zone, now=now, horizon=horizon, grace=grace
        )
        rows += [
            (combo.timezone, combo.at, combo.weekdays, s.local_date, s.due_at, s.expires_at)
            for s in slots
        ]
    return rows


def _zone(name: str) -> ZoneInfo:
    """The member's zone; an unknown name is planned as UTC rather than never."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown timezone %r: planning its members in UTC", name)
        return ZoneInfo("UTC")


_SLOT_COLUMNS: tuple[ColumnClause[Any], ...] = (
    column("timezone", String),
    column("local_time", Time),
    column("weekdays", Integer),
    column("local_date", Date),
    column("due_at", UTCDateTime()),
    column("expires_at", UTCDateTime()),
)
_PG_TYPES = ("text", "time", "integer", "date", "timestamptz", "timestamptz")
_HOLIDAY_COLUMNS: tuple[ColumnClause[Any], ...] = (
    column("region", String),
    column("local_date", Date),
)
_HOLIDAY_PG_TYPES = ("text", "date")


@dataclass(frozen=True, slots=True)
class _Table:
    """How a list of rows computed in Python is bound as a subquery."""

    name: str
    columns: tuple[ColumnClause[Any], ...]
    pg_types: tuple[str, ...]


_SLOTS = _Table("slots", _SLOT_COLUMNS, _PG_TYPES)
_HOLIDAYS = _Table("holidays", _HOLIDAY_COLUMNS, _HOLIDAY_PG_TYPES)


def _rows_subquery(dialect: str, table: _Table, rows: Sequence[tuple[Any, ...]]) -> Subquery:
    """Computed rows as a subquery of typed parameters (UTCDateTime binds per dialect)."""
    if dialect == "postgresql":
        return _unnest_arrays(table, rows)
    return _values_list(table, rows)


def _unnest_arrays(table: _Table, rows: Sequence[tuple[Any, ...]]) -> Subquery:
    """PostgreSQL: one array parameter a column, a constant statement whatever the size."""
    names = [col.name for col in table.columns]
    arrays = [
        bindparam(f"{table.name}_{col.name}", list(values), type_=postgresql.ARRAY(col.type))
        for col, values in zip(table.columns, zip(*rows, strict=True), strict=True)
    ]
    casts = ", ".join(
        f"CAST(:{table.name}_{name} AS {kind}[])"
        for name, kind in zip(names, table.pg_types, strict=True)
    )
    sql = f"SELECT * FROM unnest({casts}) AS computed({', '.join(names)})"
    return text(sql).bindparams(*arrays).columns(*table.columns).subquery(table.name)


def _values_list(table: _Table, rows: Sequence[tuple[Any, ...]]) -> Subquery:
    """SQLite: `SELECT column1 AS … FROM (VALUES …)`.

    SQLAlchemy's values() needs a column alias list (not SQLite) or a CTE, which it
    hoists before INSERT, where sqlite3 reports no rowcount.
    """
    params: list[BindParameter[Any]] = []
    tuples: list[str] = []
    for i, row in enumerate(rows):
        names = [f"{table.name}{i}_{j}" for j in range(len(table.columns))]
        tuples.append("(" + ", ".join(f":{name}" for name in names) + ")")
        params += [
            bindparam(name, value, type_=col.type)
            for name, value, col in zip(names, row, table.columns, strict=True)
        ]
    picks = ", ".join(f"column{j + 1} AS {col.name}" for j, col in enumerate(table.columns))
    sql = f"SELECT {picks} FROM (VALUES {', '.join(tuples)}) AS computed"
    return text(sql).bindparams(*params).columns(*table.columns).subquery(table.name)


def _not_away(until: Any, local_date: Any) -> ColumnElement[bool]:
    """Vacation or pause `until` a date covers every local date up to and including it."""
    return or_(until.is_(None), until < local_date)


def participates() -> ColumnElement[bool]:
    """The member (Member) takes part in the schedule (Schedule): everyone, or listed
    (a list or a channel's members, resolved into schedule_participants)."""
    listed = exists().where(
        ScheduleParticipant.schedule_id == Schedule.id,
        ScheduleParticipant.member_id == Member.id,
    )
    return or_(Schedule.participants == ParticipantsKind.EVERYONE.value, listed)


def _not_planned(*, local_date: Any) -> ColumnElement[bool]:
    """No session yet for that day: neither this schedule's nor one started on demand."""
    existing = CheckinSession.__table__.alias("existing")
    on_demand = and_(existing.c.schedule_id.is_(None), existing.c.agent_id == Schedule.agent_id)
    return ~exists().where(
        existing.c.member_id == Member.id,
        existing.c.local_date == local_date,
        or_(existing.c.schedule_id == Schedule.id, on_demand),
    )


def _on_holiday(holidays: Subquery | None, local_date: Any) -> ColumnElement[bool]:
    """The slot's date is a public holiday in the member's region (theirs, else the org's)."""
    if holidays is None:
        return false()
    region = case(
        (Member.holidays_off == true(), null()),
        else_=func.coalesce(Member.holiday_region, Organization.holiday_region),
    )
    return exists().where(holidays.c.region == region, holidays.c.local_date == local_date)


_INSERTED = ["org_id", "schedule_id", "member_id", "agent_id"]
_INSERTED += ["local_date", "due_at", "expires_at", "state", "outcome_note"]


def _candidates(
    slots: Subquery, holidays: Subquery | None, *, schedule_ids: Sequence[int]
) -> Select[Any]:
    """One row per eligible (schedule, member, slot) not planned yet, in key order; a
    public holiday of the member's comes already skipped."""
    matches = and_(
        slots.c.timezone == Member.timezone,
        slots.c.weekdays == Schedule.weekdays,
        slots.c.local_time == _effective_time(),
    )
    holiday = _on_holiday(holidays, slots.c.local_date)
    return (
        select(Schedule.org_id, Schedule.id, Member.id, Schedule.agent_id)
        .add_columns(slots.c.local_date, slots.c.due_at, slots.c.expires_at)
        .add_columns(
            case((holiday, SessionState.SKIPPED.value), else_=SessionState.SCHEDULED.value),
            case((holiday, literal(PUBLIC_HOLIDAY)), else_=null()),
        )
        .select_from(Schedule)
        .join(Organization, Organization.id == Schedule.org_id)
        .join(Member, Member.org_id == Schedule.org_id)
        .join(slots, matches)
        .where(Schedule.id.in_(schedule_ids), Member.active == true(), participates())
        .where(_not_away(Member.vacation_until, slots.c.local_date))
        .where(_not_away(Member.paused_until, slots.c.local_date))
        .where(_not_planned(local_date=slots.c.local_date))
        .order_by(Schedule.id, Member.id, slots.c.local_date)
    )


def _insert(
    dialect: str,
    *,
    schedule_ids: Sequence[int],
    rows: Sequence[SlotRow],
    holidays: Sequence[HolidayRow],
) -> Insert:
    slots = _rows_subquery(dialect, _SLOTS, rows)
    days = _rows_subquery(dialect, _HOLIDAYS, holidays) if holidays else None
    query = _candidates(slots, days, schedule_ids=schedule_ids)
    if dialect == "postgresql":
        on_pg = postgresql.insert(CheckinSession).from_select(_INSERTED, query)
        return on_pg.on_conflict_do_nothing(index_elements=UNIQUE_KEY)
    on_sqlite = sqlite.insert(CheckinSession).from_select(_INSERTED, query)
    return on_sqlite.on_conflict_do_nothing(index_elements=UNIQUE_KEY)


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

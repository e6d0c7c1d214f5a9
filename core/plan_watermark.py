"""What planning already covered, per schedule, so that a run with nothing new reads
one row a schedule and plans nothing.

A watermark (table plan_watermarks) claims: while the org's plan_generation was
`generation`, a run at `planned_from` (with `grace_seconds` of grace) planned every
slot of the schedule due up to `planned_until`, and none of the slots of its members'
zones and times falls due after that before `next_due_at`. Database triggers bump the
generation whenever anything planning reads changes, whoever writes it (migration
0020), so the claim holds until then.

A later run at `now` (not before `planned_from`, with no longer a grace) considers no
slot due earlier than that run did, so:

- nothing falls due by `now + horizon` before `next_due_at`: the schedule is covered;
- otherwise only slots due after `planned_until` can be new: it plans those;
- no row, another generation, a clock gone back or a longer grace: it plans everything.

The row is written after the sessions are committed, with the generation read before
planning read anything else: a change committed meanwhile leaves the row an older
generation than the org's, and the next run plans again. Two planners at once may both
plan (the unique key keeps one session); a row never goes back to an older generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, null
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.schedule_time import due_at, mask_contains
from core.store.models import Organization, PlanWatermark

#: A schedule whose members have no slot at all (no weekday, no member) is looked at
#: again after this long, and at once when anything it reads changes.
LONGEST_WAIT = timedelta(days=7)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Coverage:
    """A watermark to record, after the schedule's sessions are committed."""

    schedule_id: int
    generation: int
    planned_from: datetime
    planned_until: datetime
    next_due_at: datetime
    grace_seconds: int


def still_valid(*, now: datetime, grace: timedelta) -> ColumnElement[bool]:
    """The watermark (PlanWatermark, joined to its Organization) holds for a run at `now`."""
    return and_(
        PlanWatermark.generation == Organization.plan_generation,
        PlanWatermark.planned_from <= now,
        PlanWatermark.grace_seconds >= int(grace.total_seconds()),
    )


def covered(*, now: datetime, until: datetime, grace: timedelta) -> ColumnElement[bool]:
    """Nothing new to plan for a run at `now` planning up to `until` (false without a row)."""
    return and_(
        PlanWatermark.schedule_id.is_not(None),
        still_valid(now=now, grace=grace),
        PlanWatermark.next_due_at > until,
    )


def plan_after(*, now: datetime, grace: timedelta) -> ColumnElement[datetime | None]:
    """The instant after which slots can be new, or NULL when everything must be planned."""
    return case((still_valid(now=now, grace=grace), PlanWatermark.planned_until), else_=null())


def next_due_after(*, weekdays: int, at: time, zone: ZoneInfo, after: datetime) -> datetime:
    """The first due instant of wall time `at` on the mask's weekdays after `after`, or
    `after + LONGEST_WAIT`. Never later than the first slot planning would make (a date
    the zone skipped entirely counts as due), so a watermark never skips a slot."""
    last = after + LONGEST_WAIT
    first = after.astimezone(zone).date() - _ONE_DAY
    for offset in range(LONGEST_WAIT.days + 2):
        day = first + timedelta(days=offset)
        if mask_contains(weekdays, weekday=day.weekday()):
            due = due_at(local_date=day, at=at, zone=zone)
            if due > after:
                return min(due, last)
    return last


async def record(db: AsyncSession, *, dialect: str, coverage: Sequence[Coverage]) -> None:
    """Write the watermarks, keeping a newer generation a concurrent planner wrote."""
    if not coverage:
        return
    rows = [asdict(item) for item in coverage]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(PlanWatermark).values(rows)
    fresh = statement.excluded
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[PlanWatermark.schedule_id],
            set_={name: fresh[name] for name in rows[0] if name != "schedule_id"},
            where=PlanWatermark.generation <= fresh.generation,
        )
    )

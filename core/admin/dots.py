"""The org's dots: filtered pages, per-agent daily aggregates and a streamed export.

The dashboard reuses `daily_aggregates` and `dot_rows` (same filters, same scope)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func

from core.admin.scope import OrgScope, Page
from core.store.models import Agent, CheckinSession, Dot

#: Rows fetched from the database at a time while a CSV streams.
STREAM_CHUNK = 500


@dataclass(frozen=True, slots=True)
class DotFilter:
    since: date | None = None
    until: date | None = None
    member_id: int | None = None
    agent: str | None = None
    key: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.since is not None:
            found.append(CheckinSession.local_date >= self.since)
        if self.until is not None:
            found.append(CheckinSession.local_date <= self.until)
        if self.member_id is not None:
            found.append(Dot.member_id == self.member_id)
        if self.agent is not None:
            found.append(Agent.slug == self.agent)
        if self.key is not None:
            found.append(Dot.key == self.key)
        return found


@dataclass(frozen=True, slots=True)
class DotRow:
    id: int
    session_id: int
    member_id: int
    agent: str
    local_date: date
    key: str
    num_value: float | None
    text_value: str | None


@dataclass(frozen=True, slots=True)
class DailyAggregate:
    agent: str
    local_date: date
    key: str
    answers: int
    average: float
    minimum: float
    maximum: float


def _joined(scope: OrgScope, *columns: Any) -> Select[Any]:
    return (
        scope.select(Dot, *columns)
        .join(CheckinSession, CheckinSession.id == Dot.session_id)
        .join(Agent, Agent.id == CheckinSession.agent_id)
    )


_ROW = (Dot.id, Dot.session_id, Dot.member_id, Agent.slug, CheckinSession.local_date)
_VALUES = (Dot.key, Dot.num_value, Dot.text_value)


def dot_rows(scope: OrgScope, where: DotFilter) -> Select[Any]:
    """The filtered dots as DotRow columns (unordered)."""
    return _joined(scope, *_ROW, *_VALUES).where(*where.conditions())


async def page_dots(
    scope: OrgScope, where: DotFilter, *, limit: int, cursor: int | None
) -> Page[DotRow]:
    query = dot_rows(scope, where)
    if cursor is not None:
        query = query.where(Dot.id < cursor)
    rows = (await scope.db.execute(query.order_by(Dot.id.desc()).limit(limit + 1))).all()
    items = [DotRow(*row) for row in rows[:limit]]
    return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


async def daily_aggregates(scope: OrgScope, where: DotFilter) -> Sequence[DailyAggregate]:
    """Numeric dots per agent, member-local day and key: count, mean, min and max.
    Anonymous by construction (no member in the result), so erased members still count."""
    value = Dot.num_value
    query = (
        _joined(scope, Agent.slug, CheckinSession.local_date, Dot.key)
        .add_columns(func.count(value), func.avg(value), func.min(value), func.max(value))
        .where(value.is_not(None), *where.conditions())
        .group_by(Agent.slug, CheckinSession.local_date, Dot.key)
        .order_by(CheckinSession.local_date, Agent.slug, Dot.key)
    )
    return [
        DailyAggregate(slug, day, key, n, float(avg), float(lo), float(hi))
        for slug, day, key, n, avg, lo, hi in await scope.db.execute(query)
    ]


async def stream_dots(scope: OrgScope, where: DotFilter) -> AsyncIterator[Sequence[DotRow]]:
    """The filtered dots oldest first, STREAM_CHUNK rows at a time, read through a
    server-side cursor on a connection of its own (the request's transaction may be gone)."""
    query = dot_rows(scope, where).order_by(Dot.id).execution_options(yield_per=STREAM_CHUNK)
    async with scope.sessions() as db:
        result = await db.stream(query)
        async for chunk in result.partitions(STREAM_CHUNK):
            yield [DotRow(*row) for row in chunk]

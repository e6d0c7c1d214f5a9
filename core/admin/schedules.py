"""Schedules as an admin manages them: one per agent, its days, time, participants
(everyone or listed members) and report channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time

from sqlalchemy import delete, func, insert, select

from core.admin.agents import agent_by_slug
from core.admin.scope import BadInput, Conflict, OrgScope
from core.commands.values import weekday_mask, weekdays_of
from core.domain import ParticipantsKind
from core.store.models import Agent, CheckinSession, Member, Schedule, ScheduleParticipant

#: A field left out of an update: unchanged (None is a value: "no report channel").
KEEP: object = object()


@dataclass(frozen=True, slots=True)
class ScheduleView:
    row: Schedule
    agent: str
    weekdays: tuple[int, ...]
    member_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    agent: str
    weekdays: frozenset[int]
    local_time: time
    member_ids: frozenset[int] | None = None  # None: everyone
    active: bool = True
    report_channel: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleChange:
    weekdays: frozenset[int] | None = None
    local_time: time | None = None
    member_ids: object = KEEP  # frozenset[int] | None (everyone) | KEEP
    active: bool | None = None
    report_channel: object = KEEP  # str | None | KEEP
    touched: frozenset[str] = field(default_factory=frozenset)


async def list_schedules(scope: OrgScope) -> list[ScheduleView]:
    rows = (await scope.db.execute(
        scope.select(Schedule, Schedule, Agent.slug)
        .join(Agent, Agent.id == Schedule.agent_id).order_by(Agent.slug)
    )).all()  # fmt: skip
    return [await _view(scope, row, slug) for row, slug in rows]


async def get_schedule(scope: OrgScope, schedule_id: int) -> ScheduleView:
    row = await scope.get(Schedule, schedule_id)
    slug = await scope.db.scalar(select(Agent.slug).where(Agent.id == row.agent_id))
    return await _view(scope, row, slug or "?")


async def _view(scope: OrgScope, row: Schedule, slug: str) -> ScheduleView:
    ids = await scope.db.scalars(
        select(ScheduleParticipant.member_id).where(ScheduleParticipant.schedule_id == row.id)
    )
    days = tuple(sorted(weekdays_of(row.weekdays)))
    return ScheduleView(row=row, agent=slug, weekdays=days, member_ids=tuple(sorted(ids)))


async def create_schedule(scope: OrgScope, spec: ScheduleSpec) -> ScheduleView:
    agent = (await agent_by_slug(scope, spec.agent)).row
    taken = await scope.db.scalar(
        scope.select(Schedule, Schedule.id).where(Schedule.agent_id == agent.id)
    )
    if taken is not None:
        raise Conflict(f"{spec.agent} has a schedule already (id {taken}): change that one")
    _check_days(spec.weekdays)
    row = Schedule(
        org_id=scope.org_id, agent_id=agent.id, weekdays=weekday_mask(spec.weekdays),
        local_time=spec.local_time, participants=_kind(spec.member_ids).value,
        active=spec.active, report_channel=spec.report_channel,
    )  # fmt: skip
    scope.db.add(row)
    await scope.db.flush()
    await _set_participants(scope, row, spec.member_ids)
    scope.record("schedule.create", schedule_id=row.id, agent=agent.slug)
    return await get_schedule(scope, row.id)


async def update_schedule(
    scope: OrgScope, schedule_id: int, change: ScheduleChange
) -> ScheduleView:
    row = await scope.get(Schedule, schedule_id)
    if change.weekdays is not None:
        _check_days(change.weekdays)
        row.weekdays = weekday_mask(change.weekdays)
    if change.local_time is not None:
        row.local_time = change.local_time
    if change.active is not None:
        row.active = change.active
    if change.report_channel is not KEEP:
        row.report_channel = change.report_channel  # type: ignore[assignment]
    if change.member_ids is not KEEP:
        ids = change.member_ids
        assert ids is None or isinstance(ids, frozenset)
        row.participants = _kind(ids).value
        await _set_participants(scope, row, ids)
    scope.record("schedule.update", schedule_id=row.id, fields=sorted(change.touched))
    return await get_schedule(scope, row.id)


async def delete_schedule(scope: OrgScope, schedule_id: int) -> None:
    """Only a schedule with no check-ins yet: deleting one would take its check-ins and
    their dots with it (pause it instead)."""
    row = await scope.get(Schedule, schedule_id)
    used = await scope.db.scalar(select(func.count()).where(CheckinSession.schedule_id == row.id))
    if used:
        raise Conflict(
            "this schedule has check-ins and their dots: pause it (active=false) instead"
        )
    await scope.db.delete(row)
    scope.record("schedule.delete", schedule_id=schedule_id)


def _check_days(days: frozenset[int]) -> None:
    if not days or not days <= set(range(7)):
        raise BadInput("weekdays are 0 (Monday) to 6 (Sunday), at least one")


def _kind(member_ids: frozenset[int] | None) -> ParticipantsKind:
    return ParticipantsKind.EVERYONE if member_ids is None else ParticipantsKind.LISTED


async def _set_participants(scope: OrgScope, row: Schedule, ids: frozenset[int] | None) -> None:
    await scope.db.execute(
        delete(ScheduleParticipant).where(ScheduleParticipant.schedule_id == row.id)
    )
    if not ids:
        return
    known: Sequence[int] = (await scope.db.scalars(
        scope.select(Member, Member.id).where(Member.id.in_(ids), Member.deleted_at.is_(None))
    )).all()  # fmt: skip
    if missing := sorted(ids - set(known)):
        raise BadInput(f"no members {missing} in your organisation")
    rows = [{"schedule_id": row.id, "member_id": m} for m in sorted(ids)]
    await scope.db.execute(insert(ScheduleParticipant), rows)

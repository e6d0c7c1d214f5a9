"""What check-ins produced over a period, per agent: counts, averages and recent answers.

Backs the `report` command (as_text) and the CLI `vizdots report --json` (as_dict).
Recent answers are per person: they are left out, with a line saying why, when the
agent's group (its schedule's participants, or else the people who checked in with it
in the period) is smaller than the org's anonymity threshold (core.insights).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import SessionState
from core.i18n import _, n_
from core.insights import group_members
from core.store.models import Agent, CheckinSession, Dot, Member, Organization, Schedule
from core.trends import EMPTY_ANSWERS

#: How many recent text answers a report shows per dot key.
RECENT_TEXTS = 5
_REACHED = {SessionState.DELIVERED, SessionState.IN_PROGRESS, SessionState.COMPLETED}


@dataclass(frozen=True, slots=True)
class NumberSummary:
    key: str
    average: float
    answers: int


@dataclass(frozen=True, slots=True)
class TextAnswer:
    key: str
    member: str
    text: str
    local_date: date


@dataclass(frozen=True, slots=True)
class AgentReport:
    slug: str
    name: str
    planned: int = 0
    delivered: int = 0
    completed: int = 0
    skipped: int = 0
    expired: int = 0
    failed: int = 0
    numbers: tuple[NumberSummary, ...] = ()
    texts: tuple[TextAnswer, ...] = ()
    #: People in the agent's group, and the org's anonymity threshold.
    group_size: int = 0
    threshold: int = 5

    @property
    def per_person_shown(self) -> bool:
        return self.group_size >= self.threshold

    @property
    def hidden_note(self) -> str | None:
        """Why recent answers are left out, when they are (and there were check-ins)."""
        if self.per_person_shown or not self.completed:
            return None
        return n_(
            "Individual answers are hidden: this group has {count} person, fewer than {threshold}.",
            "Individual answers are hidden: this group has {count} people, fewer than {threshold}.",
            self.group_size,
            threshold=self.threshold,
        )

    @property
    def response_rate(self) -> float | None:
        """Completed check-ins per delivered one; None when nothing was delivered."""
        return self.completed / self.delivered if self.delivered else None

    def texts_by_key(self) -> dict[str, list[TextAnswer]]:
        grouped: dict[str, list[TextAnswer]] = defaultdict(list)
        for answer in self.texts:
            grouped[answer.key].append(answer)
        return dict(grouped)


@dataclass(frozen=True, slots=True)
class Report:
    since: date
    until: date
    agents: tuple[AgentReport, ...]

    def as_text(self) -> str:
        """Plain text for a chat reply."""
        since, until = self.since.isoformat(), self.until.isoformat()
        if not self.agents:
            return _("No check-ins from {since} to {until}.", since=since, until=until)
        lines = [_("Check-ins from {since} to {until}", since=since, until=until)]
        for agent in self.agents:
            lines += _agent_lines(agent)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "agents": [_agent_dict(agent) for agent in self.agents],
        }


def _agent_lines(agent: AgentReport) -> list[str]:
    counts = _(
        "{planned} planned, {delivered} delivered, {completed} completed, {skipped} skipped, "
        "{expired} expired",
        planned=agent.planned, delivered=agent.delivered, completed=agent.completed,
        skipped=agent.skipped, expired=agent.expired,
    ) + (_(", {failed} failed", failed=agent.failed) if agent.failed else "")  # fmt: skip
    rate = agent.response_rate
    lines = [f"\n{agent.slug} ({_(agent.name)}): {counts}"]
    if rate is not None:
        lines.append("  " + _("response rate {rate}", rate=format(rate, ".0%")))
    lines += [
        "  " + _("{key}: average {average} ({count} answers)", key=n.key,
                 average=format(n.average, ".1f"), count=n.answers)
        for n in agent.numbers
    ]  # fmt: skip
    if agent.hidden_note is not None:
        lines.append(f"  {agent.hidden_note}")
    for key, answers in agent.texts_by_key().items():
        lines.append(f"  {key}:")
        lines += [f"  - {a.member}, {a.local_date.isoformat()}: {_short(a.text)}" for a in answers]
    return lines


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _agent_dict(agent: AgentReport) -> dict[str, Any]:
    return {
        "slug": agent.slug,
        "name": agent.name,
        **{k: getattr(agent, k) for k in ("planned", "delivered", "completed", "skipped")},
        **{k: getattr(agent, k) for k in ("expired", "failed")},
        "response_rate": agent.response_rate,
        "group_size": agent.group_size,
        "per_person_shown": agent.per_person_shown,
        "averages": {n.key: {"average": n.average, "answers": n.answers} for n in agent.numbers},
        "recent": {
            key: [
                {"member": a.member, "text": a.text, "date": a.local_date.isoformat()}
                for a in answers
            ]
            for key, answers in agent.texts_by_key().items()
        },
    }


#: The furthest any zone runs ahead of UTC (Kiribati, UTC+14).
AHEAD_OF_UTC = timedelta(hours=14)


def last_days(now: datetime, days: int) -> tuple[date, date]:
    """The last `days` member-local dates as of `now`, including zones already in tomorrow."""
    until = (now + AHEAD_OF_UTC).date()
    return until - timedelta(days=days - 1), until


async def build_report(
    db: AsyncSession, *, org_id: int, agent_slug: str | None, since: date, until: date
) -> Report:
    """The org's check-ins with a local date from `since` to `until`, both included.

    Covers the agents with sessions in the period or a schedule in the org, or only
    `agent_slug` (even when it has no sessions yet).
    """
    agents = await _agents_in_scope(db, org_id, agent_slug, since, until)
    scope = _Scope(org_id=org_id, agent_ids=tuple(agents), since=since, until=until)
    counts = await _state_counts(db, scope)
    numbers = await _number_summaries(db, scope)
    texts = await _recent_texts(db, scope)
    sizes = await _group_sizes(db, scope)
    threshold = (await db.get_one(Organization, org_id)).anonymity_threshold
    reports = [
        _agent_report(agent, counts[agent_id], numbers[agent_id], texts[agent_id])
        for agent_id, agent in agents.items()
    ]
    reports = [
        _within_threshold(report, sizes.get(agent_id, 0), threshold)
        for agent_id, report in zip(agents, reports, strict=True)
    ]
    return Report(since=since, until=until, agents=tuple(sorted(reports, key=lambda r: r.slug)))


def _agent_report(
    agent: Agent,
    counts: Mapping[str, int],
    numbers: Sequence[NumberSummary],
    texts: Sequence[TextAnswer],
) -> AgentReport:
    return AgentReport(
        slug=agent.slug,
        name=agent.name,
        planned=counts["planned"],
        delivered=counts["reached"],
        completed=counts[SessionState.COMPLETED],
        skipped=counts[SessionState.SKIPPED],
        expired=counts[SessionState.EXPIRED],
        failed=counts[SessionState.FAILED],
        numbers=tuple(numbers),
        texts=tuple(texts),
    )


def _within_threshold(report: AgentReport, size: int, threshold: int) -> AgentReport:
    shown = size >= threshold
    return replace(report, group_size=size, threshold=threshold,
                   texts=report.texts if shown else ())  # fmt: skip


async def _group_sizes(db: AsyncSession, scope: _Scope) -> dict[int, int]:
    """People per agent: its schedule's group, or else who checked in with it."""
    schedules = await db.execute(
        select(Schedule.agent_id, Schedule.id)
        .where(Schedule.org_id == scope.org_id, Schedule.agent_id.in_(scope.agent_ids))
    )  # fmt: skip
    sizes = {agent_id: len(await group_members(db, schedule_id=schedule_id))
             for agent_id, schedule_id in schedules.all()}  # fmt: skip
    people = await db.execute(
        select(CheckinSession.agent_id, func.count(CheckinSession.member_id.distinct()))
        .where(*scope.sessions())
        .group_by(CheckinSession.agent_id)
    )
    for agent_id, n in people:
        sizes.setdefault(agent_id, n)
    return sizes


@dataclass(frozen=True, slots=True)
class _Scope:
    org_id: int
    agent_ids: tuple[int, ...]
    since: date
    until: date

    def sessions(self) -> tuple[ColumnElement[bool], ...]:
        """The conditions picking the scope's check-in sessions."""
        return (
            CheckinSession.org_id == self.org_id,
            CheckinSession.agent_id.in_(self.agent_ids),
            CheckinSession.local_date.between(self.since, self.until),
        )


async def _agents_in_scope(
    db: AsyncSession, org_id: int, agent_slug: str | None, since: date, until: date
) -> dict[int, Agent]:
    if agent_slug is not None:
        query = select(Agent).where(
            Agent.slug == agent_slug, or_(Agent.org_id.is_(None), Agent.org_id == org_id)
        )
    else:
        used = select(CheckinSession.agent_id).where(
            CheckinSession.org_id == org_id, CheckinSession.local_date.between(since, until)
        )
        scheduled = select(Schedule.agent_id).where(Schedule.org_id == org_id)
        query = select(Agent).where(or_(Agent.id.in_(used), Agent.id.in_(scheduled)))
    return {agent.id: agent for agent in await db.scalars(query)}


async def _state_counts(db: AsyncSession, scope: _Scope) -> defaultdict[int, Counter[str]]:
    reached = CheckinSession.delivered_at.is_not(None)
    query = (
        select(CheckinSession.agent_id, CheckinSession.state, reached, func.count())
        .where(*scope.sessions())
        .group_by(CheckinSession.agent_id, CheckinSession.state, reached)
    )
    counts: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for agent_id, state, was_delivered, n in await db.execute(query):
        counts[agent_id]["planned"] += n
        counts[agent_id][state] += n
        if was_delivered or state in _REACHED:
            counts[agent_id]["reached"] += n
    return counts


async def _number_summaries(
    db: AsyncSession, scope: _Scope
) -> defaultdict[int, list[NumberSummary]]:
    query = (
        select(CheckinSession.agent_id, Dot.key, func.avg(Dot.num_value), func.count())
        .join(CheckinSession, CheckinSession.id == Dot.session_id)
        .where(Dot.num_value.is_not(None), *scope.sessions())
        .group_by(CheckinSession.agent_id, Dot.key)
        .order_by(Dot.key)
    )
    found: defaultdict[int, list[NumberSummary]] = defaultdict(list)
    for agent_id, key, average, n in await db.execute(query):
        found[agent_id].append(NumberSummary(key=key, average=float(average), answers=n))
    return found


async def _recent_texts(db: AsyncSession, scope: _Scope) -> defaultdict[int, list[TextAnswer]]:
    rank = func.row_number().over(
        partition_by=(CheckinSession.agent_id, Dot.key),
        order_by=(CheckinSession.local_date.desc(), Dot.id.desc()),
    )
    answers = (
        select(CheckinSession.agent_id, Dot.key, Member.display_name, Dot.text_value)
        .add_columns(CheckinSession.local_date, rank.label("rank"))
        .join(CheckinSession, CheckinSession.id == Dot.session_id)
        .join(Member, Member.id == Dot.member_id)
        .where(Dot.num_value.is_(None), Dot.text_value.is_not(None), *scope.sessions())
        .where(func.lower(func.trim(Dot.text_value)).not_in(EMPTY_ANSWERS))
        .subquery()
    )
    query = select(answers).where(answers.c.rank <= RECENT_TEXTS)
    found: defaultdict[int, list[TextAnswer]] = defaultdict(list)
    for agent_id, key, member, text, day, _rank in await db.execute(
        query.order_by(answers.c.key, answers.c.rank)
    ):
        found[agent_id].append(TextAnswer(key=key, member=member, text=text, local_date=day))
    return found

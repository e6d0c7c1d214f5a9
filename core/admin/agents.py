"""Agents an admin sees (the global ones and the org's own), makes and switches on/off."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from core.admin.scope import BadInput, Conflict, NotFound, OrgScope
from core.domain import AgentSpec, QuestionKind
from core.store.models import Agent, Organization


@dataclass(frozen=True, slots=True)
class AgentView:
    row: Agent
    enabled: bool

    @property
    def is_global(self) -> bool:
        return self.row.org_id is None


async def list_agents(scope: OrgScope) -> list[AgentView]:
    """Global agents and the org's own, by slug (an org's agent hides a global one)."""
    org = await scope.db.get_one(Organization, scope.org_id)
    rows = await scope.db.scalars(
        select(Agent)
        .where(or_(Agent.org_id.is_(None), Agent.org_id == scope.org_id))
        .order_by(Agent.slug, Agent.org_id.is_(None))
    )
    found: dict[str, Agent] = {}
    for row in rows:
        found.setdefault(row.slug, row)
    disabled = set(org.disabled_agents)
    return [AgentView(row, enabled=slug not in disabled) for slug, row in found.items()]


async def agent_by_slug(scope: OrgScope, slug: str) -> AgentView:
    for view in await list_agents(scope):
        if view.row.slug == slug:
            return view
    raise NotFound(f"no agent {slug!r} in your organisation")


def check_plan(spec: AgentSpec) -> None:
    """A question plan VizDots can run: unique keys, choices only on choice questions,
    dot keys among the question keys."""
    keys = [q.key for q in spec.questions]
    if not keys:
        raise BadInput("an agent asks at least one question")
    if len(set(keys)) != len(keys):
        raise BadInput("each question needs its own key")
    for q in spec.questions:
        if (q.kind is QuestionKind.CHOICE) != bool(q.choices):
            raise BadInput(f"question {q.key!r}: choices go with kind 'choice' (two or more)")
        if q.kind is QuestionKind.CHOICE and len(q.choices) < 2:
            raise BadInput(f"question {q.key!r}: a choice question offers two or more choices")
    unknown = set(spec.dot_keys) - set(keys)
    if unknown:
        raise BadInput(f"dot keys {sorted(unknown)} are not question keys")


async def create_agent(scope: OrgScope, spec: AgentSpec) -> AgentView:
    check_plan(spec)
    if any(view.row.slug == spec.slug for view in await list_agents(scope)):
        raise Conflict(f"an agent {spec.slug!r} exists already; choose another slug")
    dot_keys = list(spec.dot_keys) or [q.key for q in spec.questions]
    row = Agent(
        org_id=scope.org_id, slug=spec.slug, name=spec.name, persona=spec.persona,
        goal=spec.goal, questions=[q.to_json() for q in spec.questions],
        max_follow_ups=spec.max_follow_ups, dot_keys=dot_keys,
    )  # fmt: skip
    try:
        async with scope.db.begin_nested():
            scope.db.add(row)
    except IntegrityError:
        raise Conflict(f"an agent {spec.slug!r} exists already") from None
    scope.record("agents.create", agent=spec.slug, questions=[q.key for q in spec.questions])
    return AgentView(row, enabled=True)


async def switch_agent(scope: OrgScope, slug: str, *, enabled: bool) -> AgentView:
    view = await agent_by_slug(scope, slug)
    org = await scope.db.get_one(
        Organization, scope.org_id, with_for_update=True, populate_existing=True
    )
    disabled = set(org.disabled_agents)
    if (slug not in disabled) != enabled:
        org.disabled_agents = sorted(disabled - {slug} if enabled else disabled | {slug})
        scope.record("agents.enable" if enabled else "agents.disable", agent=slug)
    return AgentView(view.row, enabled=enabled)

"""`agents`, `agents enable` and `agents disable`: which agents an organisation uses."""

from __future__ import annotations

from core.commands import types as c
from core.commands.context import CommandContext, no_such_agent
from core.continuity import FOLLOW_UPS
from core.domain import Question, QuestionKind
from core.i18n import _
from core.store.models import Agent, Organization

#: Questions asked only to follow up the previous check-in (core.continuity).
FOLLOW_UP_QUESTIONS = frozenset(FOLLOW_UPS.values())


def describe_questions(agent: Agent) -> str:
    """One line naming what the agent asks, e.g. `mood (1-5), focus, blockers`, and the
    follow-ups it asks only when the previous check-in left something to follow up."""
    questions = [Question.from_json(q) for q in agent.questions]
    asks = [f"{q.key} (1-5)" if q.kind is QuestionKind.SCALE else q.key for q in questions
            if q.key not in FOLLOW_UP_QUESTIONS]  # fmt: skip
    follow_ups = [q.key for q in questions if q.key in FOLLOW_UP_QUESTIONS]
    said = ", ".join(asks) or _("no questions yet")
    if not follow_ups:
        return said
    return _("{questions}; follows up {follow_ups}", questions=said,
             follow_ups=", ".join(follow_ups))  # fmt: skip


async def list_agents(ctx: CommandContext, command: c.AgentsList) -> str:
    agents = await ctx.agents()
    if not agents:
        return _("There are no agents yet.")
    disabled = set(ctx.org.disabled_agents)
    lines = [_("Agents (name them by the first word):")]
    for slug, agent in agents.items():
        state = _("disabled") if slug in disabled else _("enabled")
        lines.append(
            _("• {agent}: {name}, asks {questions} ({state})", agent=slug, name=_(agent.name),
              questions=describe_questions(agent), state=state)
        )  # fmt: skip
    return "\n".join(lines)


async def enable_agent(ctx: CommandContext, command: c.AgentsEnable) -> str:
    return await _switch(ctx, command.agent, enabled=True)


async def disable_agent(ctx: CommandContext, command: c.AgentsDisable) -> str:
    return await _switch(ctx, command.agent, enabled=False)


async def _locked_org(ctx: CommandContext) -> Organization:
    """The org re-read under a row lock: two admins switching agents at once both count."""
    return await ctx.db.get_one(
        Organization, ctx.org.id, with_for_update=True, populate_existing=True
    )


async def _switch(ctx: CommandContext, slug: str, *, enabled: bool) -> str:
    agents = await ctx.agents()
    if slug not in agents:
        return no_such_agent(slug, agents)
    org = await _locked_org(ctx)
    disabled = set(org.disabled_agents)
    if (slug not in disabled) == enabled:
        if enabled:
            return _("{agent} is already enabled.", agent=slug)
        return _("{agent} is already disabled.", agent=slug)
    org.disabled_agents = sorted(disabled - {slug} if enabled else disabled | {slug})
    ctx.audit("agents.enable" if enabled else "agents.disable", agent=slug)
    if enabled:
        return _(
            "{agent} is enabled again; its schedule plans check-ins from the next planning.",
            agent=slug,
        )
    return _(
        "{agent} is disabled: no new check-ins from it. `agents enable {agent}` turns it on.",
        agent=slug,
    )

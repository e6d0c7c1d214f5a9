"""`report [<agent>] [week|month]`: the last 7 or 30 days of check-ins: each group's
team digest (as a schedule's report channel gets it), then the counts and answers."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.commands import types as c
from core.commands.context import CommandContext, no_such_agent
from core.digest import compose_digest, digest_content
from core.report import build_report, last_days
from core.store.models import Agent, Schedule

_DAYS = {"week": 7, "month": 30}


async def show_report(ctx: CommandContext, command: c.Report) -> str:
    if command.agent is not None:
        agents = await ctx.agents()
        if command.agent not in agents:
            return no_such_agent(command.agent, agents)
    since, until = last_days(ctx.clock.now(), _DAYS[command.period])
    report = await build_report(
        ctx.db, org_id=ctx.org.id, agent_slug=command.agent, since=since, until=until
    )
    digests = await _digests(ctx, command.agent, since, until)
    return "\n\n".join([*digests, report.as_text()])


async def _digests(ctx: CommandContext, agent: str | None, since: date, until: date) -> list[str]:
    """The digest of each of the org's groups (schedules), or of the agent's one."""
    query = (
        select(Schedule.id)
        .join(Agent, Agent.id == Schedule.agent_id)
        .where(Schedule.org_id == ctx.org.id)
        .order_by(Agent.slug)
    )
    if agent is not None:
        query = query.where(Agent.slug == agent)
    texts = []
    for schedule_id in await ctx.db.scalars(query):
        facts = await digest_content(
            ctx.db, org_id=ctx.org.id, schedule_id=schedule_id, since=since, until=until,
            now=ctx.clock.now(),
        )  # fmt: skip
        texts.append(compose_digest(facts).text)
    return texts

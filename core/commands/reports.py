"""`report [<agent>] [week|month]`: the last 7 or 30 days of check-ins, as text."""

from __future__ import annotations

from core.commands import types as c
from core.commands.context import CommandContext, no_such_agent
from core.report import build_report, last_days

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
    return report.as_text()

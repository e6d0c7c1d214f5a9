"""`schedule show | set | pause | resume`: when each agent checks in, and with whom."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from core.commands import types as c
from core.commands.context import CommandContext, no_such_agent
from core.commands.participants import resolve_participants
from core.commands.values import weekday_mask, weekdays_in_words, weekdays_of
from core.domain import ParticipantsKind
from core.home import next_checkin
from core.i18n import N_, _
from core.store.models import Agent, Member, Schedule, ScheduleParticipant

_TIME_ZONE_NOTE = N_("Times are each person's own time zone.")
_YOUR_NEXT = N_("Your next check-in ({agent}): {local}, {timezone} time.")


async def show_schedules(ctx: CommandContext, command: c.ScheduleShow) -> str:
    rows = (
        await ctx.db.execute(
            select(Schedule, Agent.slug)
            .join(Agent, Agent.id == Schedule.agent_id)
            .where(Schedule.org_id == ctx.org.id)
            .order_by(Agent.slug)
        )
    ).all()
    if not rows:
        return _(
            "There are no schedules yet. An admin can add one: schedule set daily mon-fri 09:30"
        )
    names = await _participant_names(ctx, [schedule.id for schedule, _slug in rows])
    lines = [_("Schedules:")]
    lines += [_schedule_line(ctx, s, slug, names[s.id]) for s, slug in rows]
    return "\n".join([*lines, _(_TIME_ZONE_NOTE), *await _your_next(ctx)])


async def _your_next(ctx: CommandContext) -> list[str]:
    """When the asking member's next check-in comes (vacation and holidays skipped)."""
    upcoming = await next_checkin(ctx.db, ctx.member, ctx.clock.now())
    if upcoming is None:
        return []
    timezone = ctx.member.timezone
    return [_(_YOUR_NEXT, agent=_(upcoming.agent), local=upcoming.local, timezone=timezone)]


def _schedule_line(ctx: CommandContext, schedule: Schedule, slug: str, names: list[str]) -> str:
    days = weekdays_in_words(weekdays_of(schedule.weekdays))
    state = _("active") if schedule.active else _("paused")
    if slug in ctx.org.disabled_agents:
        state = _("{state}, agent disabled", state=state)
    return _(
        "• {agent}: {days} at {time}, {who} ({state})",
        agent=slug, days=days, time=schedule.local_time.strftime("%H:%M"),
        who=_who(schedule.participants, names), state=state,
    )  # fmt: skip


def _who(participants: str, names: list[str]) -> str:
    if participants == ParticipantsKind.EVERYONE.value:
        return _("everyone")
    more = _(" and {count} more", count=len(names) - 5) if len(names) > 5 else ""
    shown = ", ".join(names[:5]) + more
    if not names:
        return _("nobody listed")
    return _("{count} people: {names}", count=len(names), names=shown)


async def _participant_names(ctx: CommandContext, schedule_ids: list[int]) -> dict[int, list[str]]:
    rows = await ctx.db.execute(
        select(ScheduleParticipant.schedule_id, Member.display_name)
        .join(Member, Member.id == ScheduleParticipant.member_id)
        .where(ScheduleParticipant.schedule_id.in_(schedule_ids))
        .order_by(Member.display_name)
    )
    names: defaultdict[int, list[str]] = defaultdict(list)
    for schedule_id, name in rows:
        names[schedule_id].append(name)
    return names


async def set_schedule(ctx: CommandContext, command: c.ScheduleSet) -> str:
    agents = await ctx.agents()
    agent = agents.get(command.agent)
    if agent is None:
        return no_such_agent(command.agent, agents)
    resolved = await resolve_participants(ctx, command.participants)
    if resolved.problems:
        return _("Nothing changed: {problems}.", problems="; ".join(resolved.problems))
    schedule_id, active = await _upsert_schedule(ctx, agent, command)
    await _replace_participants(ctx, schedule_id, resolved.member_ids)
    ctx.audit(
        "schedule.set",
        agent=agent.slug,
        weekdays=sorted(command.weekdays),
        time=command.at.strftime("%H:%M"),
        participants=_kind(command).value,
        users=list(command.participants.users),
        channels=list(command.participants.channels),
        member_ids=sorted(resolved.member_ids),
        **({"report_channel": ctx.request.channel_id} if ctx.request.channel_id else {}),
    )
    return _set_reply(ctx, command, len(resolved.member_ids), active=active)


def _kind(command: c.ScheduleSet) -> ParticipantsKind:
    everyone = command.participants.everyone
    return ParticipantsKind.EVERYONE if everyone else ParticipantsKind.LISTED


async def _upsert_schedule(
    ctx: CommandContext, agent: Agent, command: c.ScheduleSet
) -> tuple[int, bool]:
    """Insert or update the org's schedule for the agent in one statement (race-free).

    The channel the command was given in (Slack's) becomes the report channel, on an
    existing schedule too; a chat without channels (Teams' typed commands, the dev chat)
    leaves the report channel as it is."""
    values: dict[str, object] = {
        "weekdays": weekday_mask(command.weekdays),
        "local_time": command.at,
        "participants": _kind(command).value,
    }
    if ctx.request.channel_id:
        values["report_channel"] = ctx.request.channel_id
    dialect = postgresql if ctx.db.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Schedule)
        .values(org_id=ctx.org.id, agent_id=agent.id)
        .values(**values)
        .on_conflict_do_update(index_elements=["org_id", "agent_id"], set_=values)
        .returning(Schedule.id, Schedule.active)
    )
    schedule_id, active = (await ctx.db.execute(statement)).one()
    return schedule_id, active


async def _replace_participants(
    ctx: CommandContext, schedule_id: int, member_ids: frozenset[int]
) -> None:
    await ctx.db.execute(
        delete(ScheduleParticipant).where(ScheduleParticipant.schedule_id == schedule_id)
    )
    if member_ids:
        rows = [{"schedule_id": schedule_id, "member_id": m} for m in sorted(member_ids)]
        await ctx.db.execute(insert(ScheduleParticipant), rows)


def _set_reply(ctx: CommandContext, command: c.ScheduleSet, people: int, *, active: bool) -> str:
    days = weekdays_in_words(command.weekdays)
    who = _("everyone") if command.participants.everyone else _("{count} people", count=people)
    at, agent = command.at.strftime("%H:%M"), command.agent
    reply = _("{agent} check-ins: {days} at {time}, for {who}.", agent=agent, days=days,
              time=at, who=who)  # fmt: skip
    if not active:
        reply += _(" The schedule is paused; `schedule resume {agent}` starts it.", agent=agent)
    if command.agent in ctx.org.disabled_agents:
        reply += _(" The agent is disabled; `agents enable {agent}` turns it on.", agent=agent)
    return f"{reply} {_(_TIME_ZONE_NOTE)}"


async def pause_schedule(ctx: CommandContext, command: c.SchedulePause) -> str:
    return await _set_active(ctx, command.agent, active=False)


async def resume_schedule(ctx: CommandContext, command: c.ScheduleResume) -> str:
    return await _set_active(ctx, command.agent, active=True)


async def _set_active(ctx: CommandContext, slug: str, *, active: bool) -> str:
    agents = await ctx.agents()
    if slug not in agents:
        return no_such_agent(slug, agents)
    schedule = await ctx.db.scalar(
        select(Schedule).where(Schedule.org_id == ctx.org.id, Schedule.agent_id == agents[slug].id)
    )
    if schedule is None:
        return _(
            "{agent} has no schedule yet. Set one first: schedule set {agent} mon-fri 09:30",
            agent=slug,
        )
    if schedule.active == active:
        if active:
            return _("The {agent} schedule is already resumed.", agent=slug)
        return _("The {agent} schedule is already paused.", agent=slug)
    schedule.active = active
    ctx.audit("schedule.resume" if active else "schedule.pause", agent=slug)
    if active:
        return _("The {agent} schedule is resumed.", agent=slug)
    return _("The {agent} schedule is paused. `schedule resume {agent}` starts it again.",
             agent=slug)  # fmt: skip

"""Carry out a command from any channel: who asks, may they, and what changes.

Each command runs in one transaction; every change it makes writes an audit entry
in that same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.commands import (
    admin_tokens,
    agents,
    billing,
    dashboard,
    languages,
    memory,
    personal,
    reports,
    roster,
    schedules,
)
from core.commands import types as c
from core.commands.context import CommandContext
from core.commands.directory_reads import read_ahead
from core.commands.help import COMMAND_WORDS, help_text
from core.commands.parser import parse_command
from core.domain import Role
from core.i18n import N_, _, member_language, speaking
from core.identity import find_member, find_or_enrol
from core.inbound import CommandRequest
from core.ports import Billing, Clock, DashboardLinks, DirectoryError, MemberDirectory
from core.store.models import Member

UNKNOWN_SENDER = N_(
    "I don't know you in this workspace yet. Ask an admin to run `members sync`, then try again."
)
DIRECTORY_DOWN = N_(
    "I couldn't look you up in your workspace's directory ({error}). Please try again in a minute."
)

Handler = Callable[[CommandContext, Any], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class CommandReply:
    """Plain text for the channel to show the person who typed the command."""

    text: str


async def run_command(
    *,
    sessions: async_sessionmaker[AsyncSession],
    request: CommandRequest,
    directory: MemberDirectory | None,
    clock: Clock,
    billing_port: Billing | None = None,
    dashboard_links: DashboardLinks | None = None,
) -> CommandReply:
    """The reply to `request`, in the asking member's language (their own, else the org's)."""
    try:
        found = await find_or_enrol(
            sessions=sessions, sender=request.sender, directory=directory, clock=clock
        )
    except DirectoryError as error:
        return CommandReply(text=_(DIRECTORY_DOWN, error=error))
    if found is None or not found[1].active:
        return CommandReply(text=_(UNKNOWN_SENDER))
    with speaking(member_language(found[1].language, found[0].language)):
        return await _carry_out(
            sessions=sessions, request=request, member=found[1], directory=directory,
            clock=clock, billing_port=billing_port, dashboard_links=dashboard_links,
        )  # fmt: skip


async def _carry_out(
    *,
    sessions: async_sessionmaker[AsyncSession],
    request: CommandRequest,
    member: Member,
    directory: MemberDirectory | None,
    clock: Clock,
    billing_port: Billing | None,
    dashboard_links: DashboardLinks | None,
) -> CommandReply:
    directory = await _directory_for(request, member, directory)
    link = await billing.link_for(
        sessions=sessions, command=_parsed(request), member=member, port=billing_port,
        now=clock.now(),
    )  # fmt: skip
    async with sessions.begin() as db:
        found = await find_member(db, request.sender)
        if found is None:
            return CommandReply(text=_(UNKNOWN_SENDER))
        org, member = found
        context = CommandContext(
            db=db, org=org, member=member, request=request, directory=directory, clock=clock,
            billing_url=link.url, billing_problem=link.problem, dashboard_links=dashboard_links,
        )  # fmt: skip
        return CommandReply(text=await _answer(context))


def _parsed(request: CommandRequest) -> c.Command | None:
    try:
        return parse_command(request.text)
    except c.CommandSyntaxError:
        return None


async def _directory_for(
    request: CommandRequest, member: Member, directory: MemberDirectory | None
) -> MemberDirectory | None:
    """The directory's answers for this command, read outside any transaction — and only
    for admins, so nobody else can make VizDots page through the workspace."""
    try:
        command = parse_command(request.text)
    except c.CommandSyntaxError:
        return None
    if not Role(member.role).is_admin:
        return None
    return await read_ahead(command, directory=directory, workspace=request.sender.workspace)


async def _answer(ctx: CommandContext) -> str:
    try:
        command = parse_command(ctx.request.text)
    except c.CommandSyntaxError as error:
        return _("{error}\nType `help` to see what you can ask.", error=error)
    if type(command) in c.ADMIN_COMMANDS and not ctx.is_admin:
        return await _refusal(ctx, command)
    return await HANDLERS[type(command)](ctx, command)


async def _refusal(ctx: CommandContext, command: c.Command) -> str:
    admins = await ctx.db.scalars(
        select(Member.display_name)
        .where(Member.org_id == ctx.org.id, Member.active.is_(True))
        .where(Member.role.in_([Role.OWNER.value, Role.ADMIN.value]))
        .order_by(Member.display_name)
        .limit(3)
    )
    ask = ", ".join(admins) or _("an admin")
    return _(
        "Sorry, only admins can use `{command}`. If something should change, ask {admins}. "
        "Type `help` to see what you can do.",
        command=COMMAND_WORDS[type(command)], admins=ask,
    )  # fmt: skip


async def _help(ctx: CommandContext, command: c.Help) -> str:
    return help_text(is_admin=ctx.is_admin)


HANDLERS: dict[type[c.Command], Handler] = {
    c.Help: _help,
    c.ScheduleShow: schedules.show_schedules,
    c.ScheduleSet: schedules.set_schedule,
    c.SchedulePause: schedules.pause_schedule,
    c.ScheduleResume: schedules.resume_schedule,
    c.AgentsList: agents.list_agents,
    c.AgentsEnable: agents.enable_agent,
    c.AgentsDisable: agents.disable_agent,
    c.MembersList: roster.list_members,
    c.MembersSync: roster.sync_from_directory,
    c.Report: reports.show_report,
    c.Skip: personal.skip_today,
    c.Vacation: personal.go_on_vacation,
    c.VacationEnd: personal.end_vacation,
    c.Time: personal.set_own_time,
    c.Timezone: personal.set_own_timezone,
    c.ReachIn: personal.choose_chat,
    c.EmailReminders: personal.set_email_reminders,
    c.Billing: billing.show_billing,
    c.TokenCreate: admin_tokens.create_api_token,
    c.TokenRevoke: admin_tokens.revoke_api_token,
    c.Dashboard: dashboard.dashboard_link,
    c.HolidaysShow: memory.show_holidays,
    c.HolidaysSet: memory.set_holidays,
    c.HolidaysOff: memory.holidays_off,
    c.HolidaysOrg: memory.set_org_holidays,
    c.Forget: memory.forget,
    c.LanguageShow: languages.show_language,
    c.LanguageSet: languages.set_language,
    c.LanguageOrg: languages.set_org_language,
}

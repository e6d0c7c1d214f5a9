"""Commands every member may run about their own check-ins: skip, vacation, time,
timezone, the chat they are reached in, email."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from core.commands import types as c
from core.commands.context import CommandContext
from core.domain import SessionState
from core.i18n import _
from core.store.models import CheckinSession

#: Sessions not yet answered or ended, which skip and vacation may still skip.
_SKIPPABLE = tuple(
    state.value
    for state in (
        SessionState.SCHEDULED,
        SessionState.DELIVERING,
        SessionState.DELIVERED,
        SessionState.IN_PROGRESS,
    )
)


async def _skip_sessions(ctx: CommandContext, *, first: date, last: date, note: str) -> list[int]:
    """Mark the member's skippable sessions dated `first`..`last` skipped; their ids."""
    result = await ctx.db.execute(
        update(CheckinSession)
        .where(
            CheckinSession.member_id == ctx.member.id,
            CheckinSession.local_date.between(first, last),
            CheckinSession.state.in_(_SKIPPABLE),
        )
        .values(state=SessionState.SKIPPED.value, outcome_note=note)
        .returning(CheckinSession.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


async def skip_today(ctx: CommandContext, command: c.Skip) -> str:
    today = ctx.today()
    skipped = await _skip_sessions(ctx, first=today, last=today, note="skipped by member")
    if not skipped:
        return _("You have no check-in left to skip today.")
    ctx.audit("member.skip", local_date=today.isoformat(), sessions=skipped)
    return _("Done: today's check-in is skipped. See you next time!")


async def go_on_vacation(ctx: CommandContext, command: c.Vacation) -> str:
    today = ctx.today()
    if command.until < today:
        return _("{day} has passed; give today or a later date.", day=command.until.isoformat())
    ctx.member.vacation_until = command.until
    skipped = await _skip_sessions(ctx, first=today, last=command.until, note="on vacation")
    ctx.audit("member.vacation", until=command.until.isoformat(), sessions=skipped)
    planned = (
        _(" I skipped {count} check-in(s) already planned.", count=len(skipped)) if skipped else ""
    )
    until = command.until.isoformat()
    return _("Enjoy! No check-ins for you up to and including {day}.", day=until) + planned


async def end_vacation(ctx: CommandContext, command: c.VacationEnd) -> str:
    if ctx.member.vacation_until is None or ctx.member.vacation_until < ctx.today():
        return _("You are not on vacation.")
    ctx.member.vacation_until = None
    ctx.audit("member.vacation_end")
    return _("Welcome back! Check-ins resume from the next planning.")


async def set_own_time(ctx: CommandContext, command: c.Time) -> str:
    ctx.member.preferred_time = command.at
    at = command.at.strftime("%H:%M")
    ctx.audit("member.time", time=at)
    return _(
        "Got it: your check-ins will come at {time} ({timezone} time) on the schedule's days, "
        "from the next planning on. Check-ins already planned keep their time.",
        time=at, timezone=ctx.member.timezone,
    )  # fmt: skip


async def set_own_timezone(ctx: CommandContext, command: c.Timezone) -> str:
    """The member's zone, kept over what a chat client or directory says from now on."""
    before = ctx.member.timezone
    ctx.member.timezone = command.zone
    ctx.member.timezone_chosen = True
    ctx.audit("member.timezone", zone=command.zone, before=before)
    return _(
        "Got it: your time zone is {timezone}. Check-ins will come at their time of day there "
        "from the next planning on. Check-ins already planned keep their time.",
        timezone=command.zone,
    )


async def choose_chat(ctx: CommandContext, command: c.ReachIn) -> str:
    """Where a member reachable in both chats is sent check-ins (Slack unless chosen)."""
    ctx.member.preferred_chat = command.chat
    ctx.audit("member.chat", chat=command.chat)
    name = "Teams" if command.chat == "teams" else "Slack"
    reply = _("Got it: when I can reach you in {chat}, check-ins and reminders come there.",
              chat=name)  # fmt: skip
    if not _known_in(ctx, command.chat):
        reply += _(" I can't reach you in {chat} yet: until then they come where I can.",
                   chat=name)  # fmt: skip
    return reply


def _known_in(ctx: CommandContext, chat: c.Chat) -> bool:
    member = ctx.member
    if chat == "teams":
        return member.teams_conversation_ref is not None and not member.teams_unreachable
    return member.slack_user_id is not None


async def set_email_reminders(ctx: CommandContext, command: c.EmailReminders) -> str:
    ctx.member.email_opt_out = not command.enabled
    ctx.audit("member.email", enabled=command.enabled)
    if not command.enabled:
        return _("Okay, no more reminder emails. Say `email on` to get them again.")
    if not ctx.member.email:
        return _("Reminder emails are on, but I have no email address for you yet.")
    return _("Reminder emails are on again (to {email}).", email=ctx.member.email)

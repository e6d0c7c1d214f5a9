"""What the agent respects and remembers of a member: `holidays …` and `forget`.

`forget` sets a memory marker: check-ins completed before it are never recalled (no
"last time you were blocked by…"). It deletes nothing: the dots stay the org's check-in
record (reports, how long blockers live); erasing a member's data is the admin's
privacy erasure (core/admin/privacy.py).
"""

from __future__ import annotations

from datetime import date, timedelta

from core.commands import types as c
from core.commands.context import CommandContext
from core.i18n import N_, _
from core.public_holidays import UnknownRegion, effective_region, holiday_name, parse_region

NO_HOLIDAYS = N_("You have no public holidays set: check-ins come on every scheduled day.")
OWN_REGION = N_("Your public holidays: {region} (your own setting). {next}")
ORG_REGION = N_("Your public holidays: {region} (your organisation's). {next}")
TURNED_OFF = N_("Public holidays are off for you: check-ins come on every scheduled day.")
HOW_TO_SET = N_("Set yours with `holidays DE-BY`, or `holidays off`.")
NEXT_HOLIDAY = N_("Next: {name} on {day}.")
SET_OWN = N_("Done: no check-ins on public holidays of {region}. {next}")
SET_OFF = N_("Done: public holidays are off for you; check-ins come on every scheduled day.")
SET_ORG = N_("Done: the organisation's public holidays are {region}'s. {next}")
ORG_OFF = N_("Done: the organisation has no public holidays now.")
NOTHING_CHANGED = N_("{problem}; nothing changed.")
FORGOTTEN = N_(
    "Done: I've forgotten your earlier check-ins, so the next one starts fresh. "
    "Your past answers stay in your team's reports; an admin can erase your data entirely."
)
#: How far ahead `holidays` looks for the next public holiday.
LOOK_AHEAD_DAYS = 366


async def show_holidays(ctx: CommandContext, command: c.HolidaysShow) -> str:
    member, region = ctx.member, effective_region(ctx.org, ctx.member)
    if member.holidays_off:
        return f"{_(TURNED_OFF)} {_(HOW_TO_SET)}"
    if region is None:
        return f"{_(NO_HOLIDAYS)} {_(HOW_TO_SET)}"
    shown = OWN_REGION if member.holiday_region else ORG_REGION
    return _(shown, region=region, next=_next_holiday(region, ctx.today())).rstrip()


async def set_holidays(ctx: CommandContext, command: c.HolidaysSet) -> str:
    try:
        region = parse_region(command.region)
    except UnknownRegion as error:
        return _(NOTHING_CHANGED, problem=error)
    ctx.member.holiday_region, ctx.member.holidays_off = region, False
    ctx.audit("member.holidays", region=region)
    return _(SET_OWN, region=region, next=_next_holiday(region, ctx.today())).rstrip()


async def holidays_off(ctx: CommandContext, command: c.HolidaysOff) -> str:
    ctx.member.holiday_region, ctx.member.holidays_off = None, True
    ctx.audit("member.holidays", region=None)
    return _(SET_OFF)


async def set_org_holidays(ctx: CommandContext, command: c.HolidaysOrg) -> str:
    if command.region is None:
        ctx.org.holiday_region = None
        ctx.audit("org.holidays", region=None)
        return _(ORG_OFF)
    try:
        region = parse_region(command.region)
    except UnknownRegion as error:
        return _(NOTHING_CHANGED, problem=error)
    ctx.org.holiday_region = region
    ctx.audit("org.holidays", region=region)
    return _(SET_ORG, region=region, next=_next_holiday(region, ctx.today())).rstrip()


async def forget(ctx: CommandContext, command: c.Forget) -> str:
    ctx.member.memory_cleared_at = ctx.clock.now()
    ctx.audit("member.forget")
    return _(FORGOTTEN)


def _next_holiday(region: str, today: date) -> str:
    for offset in range(LOOK_AHEAD_DAYS):
        day = today + timedelta(days=offset)
        if (name := holiday_name(region, day)) is not None:
            return _(NEXT_HOLIDAY, name=name, day=day.isoformat())
    return ""

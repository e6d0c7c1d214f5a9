"""What `help` says: only the commands the caller may run, in the caller's language.

The command words stay English (they are what a member types); the explanations are
translated where they are shown."""

from __future__ import annotations

from core.commands import types as c
from core.i18n import N_, _

_FOR_EVERYONE = (
    ("skip", N_("skip today's check-in")),
    ("vacation until YYYY-MM-DD", N_("no check-ins up to and including that day")),
    ("vacation off", N_("back early: check-ins resume")),
    ("time HH:MM", N_("move your check-ins to that time of day (your time zone)")),
    ("timezone Area/City", N_("your time zone, e.g. timezone Europe/Berlin")),
    ("email off | email on", N_("stop or restart reminder emails")),
    ("reach me in slack | reach me in teams", N_("where check-ins come if you use both")),
    ("schedule show", N_("see when check-ins happen")),
    ("holidays | holidays DE-BY | holidays off", N_("your public holidays: no check-ins on them")),
    ("forget", N_("the agent forgets your earlier check-ins: the next one starts fresh")),
    ("language | language de", N_("the language I speak with you (en, de, fr, es, pt)")),
    ("agents", N_("see the check-in agents")),
    ("help", N_("this list")),
)
_FOR_ADMINS = (
    (
        "schedule set <agent> <days> <HH:MM> [everyone | @people | #channel]",
        N_("plan an agent's check-ins, e.g. schedule set daily mon-fri 09:30"),
    ),
    ("schedule pause <agent> | schedule resume <agent>", N_("stop or restart a schedule")),
    ("agents enable <agent> | agents disable <agent>", N_("turn an agent on or off")),
    ("members", N_("who takes part, the admins, who is on vacation")),
    ("members sync", N_("update members from your chat workspace")),
    ("report [<agent>] [week | month]", N_("check-in numbers, averages, blockers and wins")),
    ("billing", N_("plan, trial or next invoice, seats, and a link to subscribe or manage it")),
    ("token [name] | token revoke <vzd_…>", N_("an admin API token (shown once), or revoke one")),
    ("dashboard", N_("a link to the dots dashboard (for you only, works once, for 10 minutes)")),
    (
        "holidays org DE | holidays org off",
        N_("the organisation's public holidays (country[-region])"),
    ),
    ("language org de", N_("the organisation's language, for members who chose none")),
)

#: The words that name each command, for replies such as refusals.
COMMAND_WORDS: dict[type[c.Command], str] = {
    c.ScheduleSet: "schedule set",
    c.SchedulePause: "schedule pause",
    c.ScheduleResume: "schedule resume",
    c.AgentsEnable: "agents enable",
    c.AgentsDisable: "agents disable",
    c.MembersList: "members",
    c.MembersSync: "members sync",
    c.Report: "report",
    c.Billing: "billing",
    c.TokenCreate: "token",
    c.TokenRevoke: "token revoke",
    c.Dashboard: "dashboard",
    c.HolidaysOrg: "holidays org",
    c.LanguageOrg: "language org",
}


def help_text(*, is_admin: bool) -> str:
    lines = [_("Here's what you can ask me:")]
    lines += [f"- `{words}` — {_(what)}" for words, what in _FOR_EVERYONE]
    if is_admin:
        lines.append(_("As an admin, you can also:"))
        lines += [f"- `{words}` — {_(what)}" for words, what in _FOR_ADMINS]
    return "\n".join(lines)

"""What `help` says: only the commands the caller may run."""

from __future__ import annotations

from core.commands import types as c

_FOR_EVERYONE = (
    ("skip", "skip today's check-in"),
    ("vacation until YYYY-MM-DD", "no check-ins up to and including that day"),
    ("vacation off", "back early: check-ins resume"),
    ("time HH:MM", "move your check-ins to that time of day (your time zone)"),
    ("timezone Area/City", "your time zone, e.g. timezone Europe/Berlin"),
    ("email off | email on", "stop or restart reminder emails"),
    ("reach me in slack | reach me in teams", "where check-ins come if you use both"),
    ("schedule show", "see when check-ins happen"),
    ("holidays | holidays DE-BY | holidays off", "your public holidays: no check-ins on them"),
    ("forget", "the agent forgets your earlier check-ins: the next one starts fresh"),
    ("agents", "see the check-in agents"),
    ("help", "this list"),
)
_FOR_ADMINS = (
    (
        "schedule set <agent> <days> <HH:MM> [everyone | @people | #channel]",
        "plan an agent's check-ins, e.g. schedule set daily mon-fri 09:30",
    ),
    ("schedule pause <agent> | schedule resume <agent>", "stop or restart a schedule"),
    ("agents enable <agent> | agents disable <agent>", "turn an agent on or off"),
    ("members", "who takes part, the admins, who is on vacation"),
    ("members sync", "update members from your chat workspace"),
    ("report [<agent>] [week | month]", "check-in numbers, averages, blockers and wins"),
    ("billing", "plan, trial or next invoice, seats, and a link to subscribe or manage it"),
    ("token [name] | token revoke <vzd_…>", "an admin API token (shown once), or revoke one"),
    ("dashboard", "a link to the dots dashboard (for you only, works once, for 10 minutes)"),
    ("holidays org DE | holidays org off", "the organisation's public holidays (country[-region])"),
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
}


def help_text(*, is_admin: bool) -> str:
    lines = ["Here's what you can ask me:"]
    lines += [f"- `{words}` — {what}" for words, what in _FOR_EVERYONE]
    if is_admin:
        lines.append("As an admin, you can also:")
        lines += [f"- `{words}` — {what}" for words, what in _FOR_ADMINS]
    return "\n".join(lines)

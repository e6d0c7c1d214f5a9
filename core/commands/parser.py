"""One parser for every channel: text in, a Command value out (pure, no I/O).

Case-insensitive, tolerant of a leading `/vizdots`, of `mon, wed` and `9 am`. Anything
else raises CommandSyntaxError saying what was wrong, with a correct example.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from core.commands import types as c
from core.commands.types import Command, CommandSyntaxError
from core.commands.values import (
    WordError,
    languages_in_words,
    quoted,
    read_date,
    read_language,
    read_participants,
    read_time,
    read_weekdays,
    read_zone,
)
from core.i18n import _

EXAMPLES = {
    "help": "help",
    "schedule": "schedule show",
    "schedule set": "schedule set daily mon-fri 09:30 everyone",
    "schedule pause": "schedule pause daily",
    "schedule resume": "schedule resume daily",
    "agents": "agents disable retro",
    "members": "members sync",
    "report": "report daily month",
    "skip": "skip",
    "vacation": "vacation until 2030-08-31",
    "time": "time 08:30",
    "timezone": "timezone Europe/Berlin",
    "reach": "reach me in teams",
    "email": "email off",
    "billing": "billing",
    "token": "token reporting script",
    "token revoke": "token revoke vzd_1a2b3c4d",
    "dashboard": "dashboard",
    "holidays": "holidays DE-BY",
    "holidays org": "holidays org DE",
    "forget": "forget",
    "language": "language de",
    "language org": "language org de",
}
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,30}[a-z0-9])?", re.ASCII)
_TOKEN = re.compile(r"(?:<[^<>]*>|\S)+")
_DIGITS = frozenset("0123456789")
Rule = Callable[[list[str]], Command]


def parse_command(text: str) -> Command:
    """The command `text` spells; empty text asks for help."""
    words = _TOKEN.findall(_normalised(text))
    if not words:
        return c.Help()
    verb, rest = words[0].lower(), words[1:]
    rule = _VERBS.get(verb)
    if rule is None:
        raise _unknown(verb, among=_VERBS, example_for=lambda v: EXAMPLES[v])
    return rule(rest)


def _normalised(text: str) -> str:
    """Single spaces, no command name, `mon , wed` as `mon,wed`, `9 am` as `9am`."""
    text = " ".join(text.split())
    text = re.sub(r"^/?vizdots\b", "", text, flags=re.IGNORECASE)
    text = re.sub(r" ?, ?", ",", text)
    text = re.sub(r"(?<=[A-Za-z]) ?- ?(?=[A-Za-z])", "-", text)
    return re.sub(r"(?<=\d) (am|pm)\b", r"\1", text, flags=re.IGNORECASE)


def _unknown(
    word: str, *, among: dict[str, Rule], example_for: Callable[[str], str]
) -> CommandSyntaxError:
    close = difflib.get_close_matches(word, list(among), n=1, cutoff=0.6)
    if close:
        return CommandSyntaxError(
            _("I don't know {word}. Did you mean '{close}'?", word=quoted(word), close=close[0]),
            example=example_for(close[0]),
        )
    known = ", ".join(sorted(among))
    problem = _("I don't know {word}; I know {known}.", word=quoted(word), known=known)
    return CommandSyntaxError(problem, example="help")


def _fail(problem: str, example_key: str) -> CommandSyntaxError:
    return CommandSyntaxError(problem, example=EXAMPLES[example_key])


def _slug(word: str, example_key: str) -> str:
    if _SLUG.fullmatch(word.lower()) is None:
        problem = _("{word} is not an agent name (`agents` lists them).", word=quoted(word))
        raise _fail(problem, example_key)
    return word.lower()


def _one_agent(rest: list[str], example_key: str) -> str:
    if len(rest) != 1:
        raise _fail(_("`{command}` takes one agent name.", command=example_key), example_key)
    return _slug(rest[0], example_key)


def _no_more(rest: list[str], example_key: str) -> None:
    if rest:
        problem = _("{words} was not expected here.", words=quoted(" ".join(rest)))
        raise _fail(problem, example_key)


def _help(rest: list[str]) -> Command:
    return c.Help()


def _schedule(rest: list[str]) -> Command:
    if not rest:
        return c.ScheduleShow()
    sub, args = rest[0].lower(), rest[1:]
    rule = _SCHEDULE.get(sub)
    if rule is None:
        raise _unknown(sub, among=_SCHEDULE, example_for=lambda s: EXAMPLES[f"schedule {s}"])
    return rule(args)


def _schedule_show(rest: list[str]) -> Command:
    _no_more(rest, "schedule")
    return c.ScheduleShow()


def _schedule_set(rest: list[str]) -> Command:
    if not rest:
        raise _fail(_("`schedule set` needs an agent, the days and a time."), "schedule set")
    at = next((i for i, word in enumerate(rest) if _starts_with_digit(word)), None)
    if at == 0 or (at == 1 and _reads_as_days(rest[0])):
        raise _fail(_("Give the agent, then the days, then the time."), "schedule set")
    agent = _slug(rest[0], "schedule set")
    if at is None:
        raise _fail(_("The time is missing (use HH:MM, like 09:30)."), "schedule set")
    if at == 1:
        raise _fail(_("The days are missing (like mon-fri or mon,wed,fri)."), "schedule set")
    try:
        return c.ScheduleSet(
            agent=agent,
            weekdays=read_weekdays(",".join(rest[1:at])),
            at=read_time(rest[at]),
            participants=read_participants(rest[at + 1 :]),
        )
    except WordError as error:
        raise _fail(f"{error}.", "schedule set") from None


def _starts_with_digit(word: str) -> bool:
    return word[:1] in _DIGITS


def _reads_as_days(word: str) -> bool:
    try:
        read_weekdays(word)
    except WordError:
        return False
    return True


def _schedule_pause(rest: list[str]) -> Command:
    return c.SchedulePause(agent=_one_agent(rest, "schedule pause"))


def _schedule_resume(rest: list[str]) -> Command:
    return c.ScheduleResume(agent=_one_agent(rest, "schedule resume"))


def _agents(rest: list[str]) -> Command:
    sub = rest[0].lower() if rest else "list"
    if sub == "list":
        _no_more(rest[1:], "agents")
        return c.AgentsList()
    if sub in {"enable", "disable"}:
        slug = _one_agent(rest[1:], "agents")
        return c.AgentsEnable(agent=slug) if sub == "enable" else c.AgentsDisable(agent=slug)
    problem = _("`agents` takes enable or disable, not {word}.", word=quoted(rest[0]))
    raise _fail(problem, "agents")


def _members(rest: list[str]) -> Command:
    sub = rest[0].lower() if rest else "list"
    _no_more(rest[1:], "members")
    if sub == "list":
        return c.MembersList()
    if sub == "sync":
        return c.MembersSync()
    raise _fail(_("`members` takes sync, not {word}.", word=quoted(rest[0])), "members")


def _report(rest: list[str]) -> Command:
    agent: str | None = None
    period: c.Period | None = None
    for word in (w.lower() for w in rest):
        if word in {"week", "month"} and period is None:
            period = "week" if word == "week" else "month"
        elif word not in {"week", "month"} and agent is None:
            agent = _slug(word, "report")
        else:
            raise _fail(_("{words} was not expected here.", words=quoted(word)), "report")
    return c.Report(agent=agent, period=period or "week")


def _skip(rest: list[str]) -> Command:
    if [w.lower() for w in rest] not in ([], ["today"]):
        raise _fail(_("`skip` skips today's check-in and takes nothing else."), "skip")
    return c.Skip()


def _vacation(rest: list[str]) -> Command:
    if len(rest) == 1 and rest[0].lower() in {"off", "end", "over", "stop"}:
        return c.VacationEnd()
    if rest and rest[0].lower() in {"until", "till", "to"}:
        rest = rest[1:]
    if len(rest) != 1:
        raise _fail(_("Give the last day of your vacation as YYYY-MM-DD."), "vacation")
    try:
        return c.Vacation(until=read_date(rest[0]))
    except WordError as error:
        raise _fail(f"{error}.", "vacation") from None


def _time(rest: list[str]) -> Command:
    if len(rest) != 1:
        raise _fail(_("Give the time of day for your check-ins as HH:MM."), "time")
    try:
        return c.Time(at=read_time(rest[0]))
    except WordError as error:
        raise _fail(f"{error}.", "time") from None


def _timezone(rest: list[str]) -> Command:
    if len(rest) != 1:
        raise _fail(_("Give your time zone as Area/City."), "timezone")
    try:
        return c.Timezone(zone=read_zone(rest[0]))
    except WordError as error:
        raise _fail(f"{error}.", "timezone") from None


def _reach(rest: list[str]) -> Command:
    words = [w.lower() for w in rest]
    if words[:2] == ["me", "in"]:
        words = words[2:]
    elif words[:1] == ["in"]:
        words = words[1:]
    if words == ["slack"]:
        return c.ReachIn(chat="slack")
    if words == ["teams"]:
        return c.ReachIn(chat="teams")
    raise _fail(_("Say `reach me in slack` or `reach me in teams`."), "reach")


def _email(rest: list[str]) -> Command:
    choice = [w.lower() for w in rest]
    if choice not in (["on"], ["off"]):
        problem = _("Say `email off` to stop reminder emails or `email on` to get them.")
        raise _fail(problem, "email")
    return c.EmailReminders(enabled=choice == ["on"])


def _billing(rest: list[str]) -> Command:
    _no_more(rest, "billing")
    return c.Billing()


def _dashboard(rest: list[str]) -> Command:
    _no_more(rest, "dashboard")
    return c.Dashboard()


_REGION = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,12})?", re.ASCII | re.IGNORECASE)


def _holidays(rest: list[str]) -> Command:
    words = [w.lower() for w in rest]
    if words[:1] == ["org"]:
        return c.HolidaysOrg(region=_region_or_off(rest[1:], "holidays org"))
    if not words:
        return c.HolidaysShow()
    region = _region_or_off(rest, "holidays")
    return c.HolidaysSet(region=region) if region else c.HolidaysOff()


def _region_or_off(rest: list[str], example_key: str) -> str | None:
    """A region's shape (DE, DE-BY, US-CA), None for `off`; the calendars check the rest."""
    if len(rest) == 1 and rest[0].lower() == "off":
        return None
    if len(rest) != 1 or _REGION.fullmatch(rest[0]) is None:
        problem = _("Give a country code, with its region if you like (DE, DE-BY), or off.")
        raise _fail(problem, example_key)
    return rest[0].upper()


def _forget(rest: list[str]) -> Command:
    _no_more(rest, "forget")
    return c.Forget()


def _language(rest: list[str]) -> Command:
    """`language`, `language de` (or its name: deutsch), `language org fr`."""
    if [w.lower() for w in rest[:1]] == ["org"]:
        return c.LanguageOrg(language=_one_language(rest[1:], "language org"))
    if not rest:
        return c.LanguageShow()
    return c.LanguageSet(language=_one_language(rest, "language"))


def _one_language(rest: list[str], example_key: str) -> str:
    try:
        if len(rest) != 1:
            raise WordError(_("Give one language: {languages}", languages=languages_in_words()))
        return read_language(rest[0])
    except WordError as error:
        raise _fail(f"{error}.", example_key) from None


_TOKEN_ID = re.compile(r"(?:vzd_)?[0-9a-f]{8}", re.ASCII | re.IGNORECASE)


def _token(rest: list[str]) -> Command:
    if rest and rest[0].lower() == "revoke":
        if len(rest) != 2 or _TOKEN_ID.fullmatch(rest[1]) is None:
            raise _fail(_("Give the token's prefix, as `token` showed it."), "token revoke")
        return c.TokenRevoke(public_id=rest[1].lower().removeprefix("vzd_"))
    name = " ".join(rest)
    if len(name) > 100:
        raise _fail(_("A token's name takes at most 100 characters."), "token")
    return c.TokenCreate(name=name or None)


_SCHEDULE: dict[str, Rule] = {
    "show": _schedule_show,
    "set": _schedule_set,
    "pause": _schedule_pause,
    "resume": _schedule_resume,
}
_VERBS: dict[str, Rule] = {
    "help": _help,
    "schedule": _schedule,
    "agents": _agents,
    "members": _members,
    "report": _report,
    "skip": _skip,
    "vacation": _vacation,
    "time": _time,
    "timezone": _timezone,
    "reach": _reach,
    "email": _email,
    "billing": _billing,
    "token": _token,
    "dashboard": _dashboard,
    "holidays": _holidays,
    "forget": _forget,
    "language": _language,
}

#: The first words of the commands, for chats where typed commands and answers mix.
VERBS = frozenset(_VERBS)

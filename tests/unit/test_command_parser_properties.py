"""Properties of the parser: no input crashes it, and every valid command reads back."""

from __future__ import annotations

from datetime import date, time

from hypothesis import given
from hypothesis import strategies as st

from core.commands import types as c
from core.commands.parser import parse_command
from core.commands.values import DAY_NAMES

_WORD_LINES = (
    "help schedule show set pause resume agents enable disable members sync report",
    "week month skip today vacation until time email on off everyone",
    "mon tue-thu fri-mon weekdays weekends everyday daily , - 09:30 9am 5:30pm 25:99",
    "reach me in slack teams",
    "timezone Europe/Berlin america/new_york UTC Mars/Olympus",
    "2030-01-31 2030-02-30 <@U1> <@U2|ana> <#C1|team> @ana@example.com #team < > |",
    "/vizdots",
)
WORDS = [word for line in _WORD_LINES for word in line.split()]

slugs = st.from_regex(r"[a-z]([a-z0-9_-]{0,14}[a-z0-9])?", fullmatch=True)
report_slugs = slugs.filter(lambda s: s not in {"week", "month"})
slack_users = st.from_regex(r"U[A-Z0-9]{2,10}", fullmatch=True)
emails = st.from_regex(r"[a-z]{1,8}\.?[a-z]{0,4}@example\.com", fullmatch=True)
channel_ids = st.from_regex(r"C[A-Z0-9]{2,10}", fullmatch=True)
channel_names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
times = st.builds(time, hour=st.integers(0, 23), minute=st.integers(0, 59))


def _random_case(draw: st.DrawFn, word: str) -> str:
    return draw(st.sampled_from([word, word.upper(), word.capitalize()]))


@st.composite
def time_words(draw: st.DrawFn, at: time) -> str:
    hour12 = at.hour % 12 or 12
    half = "am" if at.hour < 12 else "pm"
    forms = [at.strftime("%H:%M"), f"{at.hour}:{at.minute:02d}", f"{hour12}:{at.minute:02d}{half}"]
    if at.minute == 0:
        forms.append(f"{hour12}{half}")
    return _random_case(draw, draw(st.sampled_from(forms)))


@st.composite
def day_words(draw: st.DrawFn, days: frozenset[int]) -> str:
    names = [draw(st.sampled_from([DAY_NAMES[d], DAY_NAMES[d][:3]])) for d in sorted(days)]
    return draw(st.sampled_from([",", ", ", " "])).join(_random_case(draw, n) for n in names)


@st.composite
def participants(draw: st.DrawFn) -> tuple[c.Participants, str]:
    users = draw(st.lists(st.one_of(slack_users, emails), max_size=4, unique=True))
    channels = draw(st.lists(st.one_of(channel_ids, channel_names), max_size=3, unique=True))
    if not users and not channels:
        return c.Participants(), draw(st.sampled_from(["", "everyone", "EVERYONE"]))
    words = [_user_word(draw, u) for u in users] + [_channel_word(draw, ch) for ch in channels]
    return c.Participants(users=tuple(users), channels=tuple(channels)), " ".join(words)


def _user_word(draw: st.DrawFn, user: str) -> str:
    if "@" in user:
        return f"@{user}"
    return draw(st.sampled_from([f"<@{user}>", f"<@{user}|some name>"]))


def _channel_word(draw: st.DrawFn, channel: str) -> str:
    if channel.islower():
        return f"#{channel}"
    return draw(st.sampled_from([f"<#{channel}>", f"<#{channel}|general>"]))


@st.composite
def schedule_sets(draw: st.DrawFn) -> tuple[c.Command, str]:
    agent = draw(slugs)
    days = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
    at = draw(times)
    who, who_text = draw(participants())
    text = f"schedule set {agent} {draw(day_words(days))} {draw(time_words(at))} {who_text}"
    return c.ScheduleSet(agent=agent, weekdays=days, at=at, participants=who), text


@st.composite
def reports(draw: st.DrawFn) -> tuple[c.Command, str]:
    agent = draw(st.none() | report_slugs)
    period = draw(st.sampled_from(["week", "month", None]))
    words = [w for w in (agent, period) if w]
    text = " ".join(["report", *draw(st.permutations(words))])
    return c.Report(agent=agent, period=period or "week"), text


@st.composite
def personal(draw: st.DrawFn) -> tuple[c.Command, str]:
    until = draw(st.dates(min_value=date(1000, 1, 1)))
    at = draw(times)
    enabled = draw(st.booleans())
    chat = draw(st.sampled_from(["slack", "teams"]))
    zone = draw(st.sampled_from(["Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC"]))
    return draw(
        st.sampled_from(
            [
                (c.Skip(), "skip"),
                (c.Vacation(until=until), f"vacation until {until.isoformat()}"),
                (c.Time(at=at), f"time {draw(time_words(at))}"),
                (c.EmailReminders(enabled=enabled), f"email {'on' if enabled else 'off'}"),
                (c.Timezone(zone=zone), f"timezone {_random_case(draw, zone)}"),
                (c.ReachIn(chat=chat), f"reach me in {_random_case(draw, chat)}"),
            ]
        )
    )


@st.composite
def agent_verbs(draw: st.DrawFn) -> tuple[c.Command, str]:
    slug = draw(slugs)
    return draw(
        st.sampled_from(
            [
                (c.SchedulePause(agent=slug), f"schedule pause {slug}"),
                (c.ScheduleResume(agent=slug), f"schedule resume {slug}"),
                (c.AgentsEnable(agent=slug), f"agents enable {slug}"),
                (c.AgentsDisable(agent=slug), f"agents disable {slug}"),
            ]
        )
    )


valid_commands = st.one_of(schedule_sets(), reports(), personal(), agent_verbs())


def _never_crashes(text: str) -> None:
    try:
        parse_command(text)
    except c.CommandSyntaxError as error:
        assert error.problem and error.example


@given(st.text())
def test_no_text_crashes_the_parser(text: str) -> None:
    _never_crashes(text)


@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=12))
def test_no_jumble_of_command_words_crashes_the_parser(words: list[str]) -> None:
    _never_crashes(" ".join(words))


@given(valid_commands, st.sampled_from(["", "/vizdots ", "/VIZDOTS  "]))
def test_a_valid_command_reads_back_as_itself(case: tuple[c.Command, str], prefix: str) -> None:
    command, text = case
    assert parse_command(prefix + text) == command


@given(valid_commands)
def test_the_example_of_every_syntax_error_is_a_valid_command(case: tuple[c.Command, str]) -> None:
    _, text = case
    try:
        parse_command(text[: len(text) // 2])
    except c.CommandSyntaxError as error:
        parse_command(error.example)

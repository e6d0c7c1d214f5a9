"""The command language: what each text means, and what a malformed one is told."""

from __future__ import annotations

from datetime import date, time

import pytest

from core.commands.parser import parse_command
from core.commands.types import (
    AgentsDisable,
    AgentsEnable,
    AgentsList,
    CommandSyntaxError,
    EmailReminders,
    Help,
    MembersList,
    MembersSync,
    Participants,
    ReachIn,
    Report,
    SchedulePause,
    ScheduleResume,
    ScheduleSet,
    ScheduleShow,
    Skip,
    Time,
    Timezone,
    Vacation,
    VacationEnd,
)

WEEKDAYS = frozenset(range(5))


def syntax_error(text: str) -> CommandSyntaxError:
    with pytest.raises(CommandSyntaxError) as caught:
        parse_command(text)
    return caught.value


def days_of(text: str) -> frozenset[int]:
    command = parse_command(f"schedule set daily {text} 09:00")
    assert isinstance(command, ScheduleSet)
    return command.weekdays


def participants_of(text: str) -> Participants:
    command = parse_command(f"schedule set daily mon-fri 09:00 {text}")
    assert isinstance(command, ScheduleSet)
    return command.participants


# --- each verb -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", Help()),
        ("", Help()),
        ("   ", Help()),
        ("schedule", ScheduleShow()),
        ("schedule show", ScheduleShow()),
        ("schedule pause daily", SchedulePause(agent="daily")),
        ("schedule resume pulse", ScheduleResume(agent="pulse")),
        ("agents", AgentsList()),
        ("agents list", AgentsList()),
        ("agents enable retro", AgentsEnable(agent="retro")),
        ("agents disable retro", AgentsDisable(agent="retro")),
        ("members", MembersList()),
        ("members sync", MembersSync()),
        ("report", Report(agent=None, period="week")),
        ("report month", Report(agent=None, period="month")),
        ("report daily", Report(agent="daily", period="week")),
        ("report daily month", Report(agent="daily", period="month")),
        ("report month daily", Report(agent="daily", period="month")),
        ("skip", Skip()),
        ("skip today", Skip()),
        ("vacation until 2030-08-31", Vacation(until=date(2030, 8, 31))),
        ("vacation 2030-08-31", Vacation(until=date(2030, 8, 31))),
        ("vacation off", VacationEnd()),
        ("time 08:30", Time(at=time(8, 30))),
        ("timezone Europe/Berlin", Timezone(zone="Europe/Berlin")),
        ("timezone america/new_york", Timezone(zone="America/New_York")),
        ("timezone UTC", Timezone(zone="UTC")),
        ("reach me in teams", ReachIn(chat="teams")),
        ("Reach me in Slack", ReachIn(chat="slack")),
        ("reach in teams", ReachIn(chat="teams")),
        ("reach slack", ReachIn(chat="slack")),
        ("email off", EmailReminders(enabled=False)),
        ("email on", EmailReminders(enabled=True)),
    ],
)
def test_each_verb_reads_as_its_command(text: str, expected: object) -> None:
    assert parse_command(text) == expected


def test_schedule_set_reads_agent_days_time_and_everyone_by_default() -> None:
    assert parse_command("schedule set daily mon-fri 09:30") == ScheduleSet(
        agent="daily", weekdays=WEEKDAYS, at=time(9, 30), participants=Participants()
    )


def test_words_are_case_insensitive() -> None:
    assert parse_command("SCHEDULE Set Daily MON-FRI 09:30") == parse_command(
        "schedule set daily mon-fri 09:30"
    )


@pytest.mark.parametrize("prefix", ["/vizdots ", "/VizDots ", "  /vizdots   "])
def test_a_leading_slash_command_name_is_ignored(prefix: str) -> None:
    assert parse_command(f"{prefix}agents disable retro") == AgentsDisable(agent="retro")


def test_the_slash_command_name_alone_asks_for_help() -> None:
    assert parse_command("/vizdots") == Help()


# --- times -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("09:30", time(9, 30)),
        ("9:30", time(9, 30)),
        ("00:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("9am", time(9)),
        ("9 am", time(9)),
        ("5:30pm", time(17, 30)),
        ("12am", time(0)),
        ("12pm", time(12)),
        ("7PM", time(19)),
    ],
)
def test_times_read_as_24_hour_or_am_pm(word: str, expected: time) -> None:
    assert parse_command(f"time {word}") == Time(at=expected)


@pytest.mark.parametrize("word", ["24:00", "9:60", "13pm", "0am", "9", "nine", "9:5"])
def test_a_time_that_is_not_one_names_the_word(word: str) -> None:
    error = syntax_error(f"time {word}")
    assert repr(word) in error.problem and "time 08:30" in str(error)


# --- weekdays --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("fri-mon", {4, 5, 6, 0}),
        ("sun-sun", {6}),
        ("mon,wed,fri", {0, 2, 4}),
        ("mon, wed, fri", {0, 2, 4}),
        ("mon wed fri", {0, 2, 4}),
        ("monday-thursday", {0, 1, 2, 3}),
        ("tues,thurs", {1, 3}),
        ("weekdays", {0, 1, 2, 3, 4}),
        ("weekends", {5, 6}),
        ("everyday", set(range(7))),
        ("daily", set(range(7))),
        ("mon-tue,sat", {0, 1, 5}),
        ("Mon - Wed", {0, 1, 2}),
    ],
)
def test_weekdays_take_names_ranges_lists_and_words(text: str, expected: set[int]) -> None:
    assert days_of(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["mon-frx", "funday", "mo", "mon-tue-wed"])
def test_a_day_that_is_not_one_is_named(text: str) -> None:
    error = syntax_error(f"schedule set daily {text} 09:00")
    assert "is not a day" in error.problem
    assert error.example == "schedule set daily mon-fri 09:30 everyone"


# --- participants ----------------------------------------------------------------------------
def test_everyone_is_said_or_implied() -> None:
    assert participants_of("everyone") == participants_of("") == Participants()


def test_slack_user_and_channel_mentions_keep_their_ids() -> None:
    assert participants_of("<@U123> <@U456|ana b> <#C789|team>") == Participants(
        users=("U123", "U456"), channels=("C789",)
    )


def test_plain_mentions_take_emails_and_channel_names() -> None:
    assert participants_of("@ana@example.com, @Bo #team-x") == Participants(
        users=("ana@example.com", "Bo"), channels=("team-x",)
    )


def test_a_person_mentioned_twice_is_listed_once() -> None:
    assert participants_of("<@U1> <@U1|ana>") == Participants(users=("U1",))


def test_everyone_and_mentions_together_are_refused() -> None:
    assert (
        "either 'everyone' or mentions"
        in syntax_error("schedule set daily mon-fri 09:00 everyone <@U1>").problem
    )


def test_a_word_that_is_no_mention_is_named() -> None:
    assert (
        "'<!here>' is not a mention"
        in syntax_error("schedule set daily mon-fri 09:00 <!here>").problem
    )


# --- errors name what was wrong and show an example ------------------------------------------
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("schedule set", "needs an agent, the days and a time"),
        ("schedule set daily mon-fri", "The time is missing"),
        ("schedule set pulse 09:00", "The days are missing"),
        ("schedule set mon-fri 09:00", "the agent, then the days, then the time"),
        ("schedule set 09:00", "the agent, then the days, then the time"),
        ("schedule pause", "takes one agent name"),
        ("schedule pause daily pulse", "takes one agent name"),
        ("agents enable", "takes one agent name"),
        ("agents explode retro", "takes enable or disable"),
        ("members purge", "takes sync"),
        ("report week month", "'month' was not expected"),
        ("skip tomorrow", "takes nothing else"),
        ("vacation", "last day of your vacation"),
        ("vacation until 2030-02-30", "'2030-02-30' is not a date"),
        ("vacation until next week", "last day of your vacation"),
        ("time", "time of day for your check-ins"),
        ("timezone", "time zone as Area/City"),
        ("timezone Mars/Olympus", "'Mars/Olympus' is not a time zone I know"),
        ("timezone Europe/Berlin now", "time zone as Area/City"),
        ("reach me in email", "`reach me in slack` or `reach me in teams`"),
        ("reach me", "`reach me in slack` or `reach me in teams`"),
        ("email maybe", "email off"),
        ("agents disable Dai$ly", "is not an agent name"),
    ],
)
def test_a_malformed_command_says_what_was_wrong(text: str, problem: str) -> None:
    assert problem in syntax_error(text).problem


def test_a_malformed_command_shows_a_correct_example_of_its_verb() -> None:
    error = syntax_error("vacation until soon")
    assert error.example == "vacation until 2030-08-31"
    assert parse_command(error.example) == Vacation(until=date(2030, 8, 31))


def test_every_example_is_itself_a_valid_command() -> None:
    from core.commands.parser import EXAMPLES

    for example in EXAMPLES.values():
        parse_command(example)


def test_an_unknown_verb_suggests_the_closest_one() -> None:
    error = syntax_error("shedule show")
    assert "Did you mean 'schedule'?" in error.problem
    assert error.example == "schedule show"


def test_an_unknown_sub_command_suggests_the_closest_one() -> None:
    error = syntax_error("schedule paus daily")
    assert "Did you mean 'pause'?" in error.problem
    assert error.example == "schedule pause daily"


def test_an_unknown_verb_with_nothing_close_lists_the_verbs() -> None:
    error = syntax_error("xyzzy")
    assert "'xyzzy'" in error.problem and "schedule" in error.problem
    assert error.example == "help"


def test_a_very_long_unknown_word_is_cut_short_in_the_reply() -> None:
    problem = syntax_error("x" * 5000).problem
    assert "x" * 41 not in problem and len(problem) < 250  # the verbs listed, the word cut


def test_dashboard_takes_no_words() -> None:
    from core.commands.types import Dashboard

    assert parse_command("/vizdots dashboard") == Dashboard()
    assert "dashboard" in syntax_error("dashboard please").example

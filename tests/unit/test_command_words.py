"""The words of commands: what each malformed command is told, word for word (the problem,
then the example of the verb it was typed for), and how days, times and token prefixes
are read and written back."""

from __future__ import annotations

from datetime import time

import pytest

from core.commands.parser import parse_command
from core.commands.types import CommandSyntaxError, Report, Time, TokenCreate, TokenRevoke
from core.commands.values import weekday_mask, weekdays_in_words, weekdays_of

SCHEDULE_SET = "For example: schedule set daily mon-fri 09:30 everyone"
EVERY_LANGUAGE = "English (en), Deutsch (de), Français (fr), Español (es), Português (pt)"


def told(text: str) -> str:
    with pytest.raises(CommandSyntaxError) as caught:
        parse_command(text)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("holidays org Bavaria",
         "Give a country code, with its region if you like (DE, DE-BY), or off.\n"
         "For example: holidays org DE"),
        ("holidays maybe",
         "Give a country code, with its region if you like (DE, DE-BY), or off.\n"
         "For example: holidays DE-BY"),
        ("members sync now", "'now' was not expected here.\nFor example: members sync"),
        ("members purge", "`members` takes sync, not 'purge'.\nFor example: members sync"),
        ("language de fr", f"Give one language: {EVERY_LANGUAGE}.\nFor example: language de"),
        ("language klingon",
         f"I don't speak 'klingon' yet; I speak {EVERY_LANGUAGE}.\nFor example: language de"),
        ("reach me by pigeon",
         "Say `reach me in slack` or `reach me in teams`.\nFor example: reach me in teams"),
        ("report week daily extra",
         "'extra' was not expected here.\nFor example: report daily month"),
        ("schedule set",
         f"`schedule set` needs an agent, the days and a time.\n{SCHEDULE_SET}"),
        ("schedule set daily", f"The time is missing (use HH:MM, like 09:30).\n{SCHEDULE_SET}"),
        ("schedule set retro 09:00",
         f"The days are missing (like mon-fri or mon,wed,fri).\n{SCHEDULE_SET}"),
        ("schedule set daily 09:00",
         f"Give the agent, then the days, then the time.\n{SCHEDULE_SET}"),
        ("schedule set Daily! mon 09:00",
         f"'Daily!' is not an agent name (`agents` lists them).\n{SCHEDULE_SET}"),
        ("schedule set daily funday 09:00",
         f"'funday' is not a day (use mon, tue, … sun).\n{SCHEDULE_SET}"),
        ("schedule set daily mon-fri 0am",
         f"'0am' is not a time of day (the hour is 1-12 with am/pm).\n{SCHEDULE_SET}"),
        ("schedule set daily mon-fri 9.30",
         f"'9.30' is not a time of day (use HH:MM, like 09:30).\n{SCHEDULE_SET}"),
        ("schedule set daily mon-fri 09:00 everyone @bob",
         f"Use either 'everyone' or mentions, not both.\n{SCHEDULE_SET}"),
        ("schedule set daily mon-fri 09:00 bob",
         f"'bob' is not a mention (use @person, #channel or everyone).\n{SCHEDULE_SET}"),
        ("schedule set daily mon-tue-wed 09:00",
         f"'tue-wed' is not a day (use mon, tue, … sun).\n{SCHEDULE_SET}"),
        ("report week week", "'week' was not expected here.\nFor example: report daily month"),
        ("report Bad!",
         "'bad!' is not an agent name (`agents` lists them).\nFor example: report daily month"),
        ("schedule show daily", "'daily' was not expected here.\nFor example: schedule show"),
        ("token revoke",
         "Give the token's prefix, as `token` showed it.\nFor example: token revoke vzd_1a2b3c4d"),
        ("token revoke nope!",
         "Give the token's prefix, as `token` showed it.\nFor example: token revoke vzd_1a2b3c4d"),
        ("token " + "n" * 101,
         "A token's name takes at most 100 characters.\nFor example: token reporting script"),
        ("sched", "I don't know 'sched'. Did you mean 'schedule'?\nFor example: schedule show"),
        ("flibber",
         "I don't know 'flibber'; I know agents, billing, dashboard, email, forget, help, "
         "holidays, language, members, reach, report, schedule, skip, time, timezone, token, "
         "vacation.\nFor example: help"),
        ("vacation until soon",
         "'soon' is not a date (use YYYY-MM-DD).\nFor example: vacation until 2030-08-31"),
        ("timezone Mars/Base",
         "'Mars/Base' is not a time zone I know (use Area/City).\n"
         "For example: timezone Europe/Berlin"),
        ("time 13pm",
         "'13pm' is not a time of day (the hour is 1-12 with am/pm).\nFor example: time 08:30"),
    ],
)  # fmt: skip
def test_a_malformed_command_is_told_the_problem_and_its_verbs_example(
    text: str, reply: str
) -> None:
    assert told(text) == reply


def test_days_written_apart_by_spaced_commas_are_read() -> None:
    assert parse_command("schedule set daily mon , wed 09:00").weekdays == {0, 2}


def test_mentions_written_apart_by_spaced_commas_are_read() -> None:
    command = parse_command("schedule set daily mon 09:00 @a , @b")
    assert command.participants.users == ("a", "b")


@pytest.mark.parametrize(
    ("text", "at"),
    [("time 9 PM", time(21)), ("time 1am", time(1)), ("time 12am", time(0)),
     ("time 12pm", time(12))],
)  # fmt: skip
def test_a_twelve_hour_time_is_read_in_any_case(text: str, at: time) -> None:
    assert parse_command(text) == Time(at=at)


@pytest.mark.parametrize("prefix", ["vzd_1a2b3c4d", "VZD_1A2B3C4D", "1a2b3c4d"])
def test_a_token_prefix_is_read_without_its_vzd_and_in_lower_case(prefix: str) -> None:
    assert parse_command(f"token revoke {prefix}") == TokenRevoke(public_id="1a2b3c4d")


def test_a_token_name_of_a_hundred_characters_is_taken() -> None:
    assert parse_command("token " + "n" * 100) == TokenCreate(name="n" * 100)


def test_a_token_keeps_its_name_and_has_none_when_not_named() -> None:
    assert parse_command("token my laptop") == TokenCreate(name="my laptop")
    assert parse_command("token") == TokenCreate(name=None)


@pytest.mark.parametrize("period", ["week", "month"])
def test_report_week_or_month_is_a_period_not_an_agent(period: str) -> None:
    assert parse_command(f"report {period}") == Report(agent=None, period=period)


def test_any_other_word_after_report_is_an_agent() -> None:
    assert parse_command("report weekly") == Report(agent="weekly", period="week")


@pytest.mark.parametrize(
    ("days", "words"),
    [({0, 1, 2, 3, 4}, "weekdays"), ({0, 1, 2, 3}, "Mon-Thu"), ({1, 2, 3}, "Tue-Thu"),
     ({0, 1}, "Mon, Tue"),
     ({0, 2, 3, 4}, "Mon, Wed, Thu, Fri"), ({4, 5, 6}, "Fri-Sun"),
     (set(), "no days")],
)  # fmt: skip
def test_weekdays_are_written_as_a_range_only_when_three_or_more_follow_each_other(
    days: set[int], words: str
) -> None:
    assert weekdays_in_words(frozenset(days)) == words


def test_a_weekday_mask_has_one_bit_per_day_from_monday() -> None:
    assert weekday_mask(frozenset({0, 2})) == 0b101
    assert weekdays_of(0b101) == {0, 2}
    assert weekdays_of(0b1111111) == set(range(7))

"""What a malformed command is told, word for word (the problem, then a correct example),
and the other spellings a verb accepts."""

from __future__ import annotations

from datetime import date

import pytest

from core.commands.parser import parse_command
from core.commands.types import CommandSyntaxError, Vacation, VacationEnd


def told(text: str) -> str:
    with pytest.raises(CommandSyntaxError) as caught:
        parse_command(text)
    return str(caught.value)


@pytest.mark.parametrize("verb", ["billing", "dashboard", "forget"])
def test_a_verb_that_takes_nothing_refuses_more_words(verb: str) -> None:
    assert told(f"{verb} now please") == (
        f"'now please' was not expected here.\nFor example: {verb}"
    )


def test_schedule_resume_takes_one_agent() -> None:
    assert told("schedule resume daily pulse") == (
        "`schedule resume` takes one agent name.\nFor example: schedule resume daily"
    )


def test_time_takes_one_time_of_day() -> None:
    assert told("time 9 30") == (
        "Give the time of day for your check-ins as HH:MM.\nFor example: time 08:30"
    )


def test_email_takes_on_or_off() -> None:
    assert told("email maybe") == (
        "Say `email off` to stop reminder emails or `email on` to get them.\nFor example: email off"
    )


def test_a_word_of_forty_characters_is_quoted_whole() -> None:
    word = "x" * 40
    assert told(f"vacation until {word}").startswith(f"'{word}' is not a date")


def test_a_longer_word_is_cut_to_thirty_seven_characters_and_an_ellipsis() -> None:
    word = "y" * 41
    assert told(f"vacation until {word}").startswith(f"'{'y' * 37}...' is not a date")


def test_agents_list_takes_nothing_more() -> None:
    assert told("agents list daily") == (
        "'daily' was not expected here.\nFor example: agents disable retro"
    )


def test_agents_names_the_word_it_does_not_know() -> None:
    assert told("agents remove daily") == (
        "`agents` takes enable or disable, not 'remove'.\nFor example: agents disable retro"
    )


@pytest.mark.parametrize("word", ["off", "end", "over", "stop", "END", "Over", "STOP"])
def test_each_word_for_back_from_vacation_ends_it(word: str) -> None:
    assert parse_command(f"vacation {word}") == VacationEnd()


@pytest.mark.parametrize("word", ["until", "till", "to", "TO"])
def test_each_word_before_the_last_day_of_a_vacation_is_optional(word: str) -> None:
    assert parse_command(f"vacation {word} 2030-08-31") == Vacation(until=date(2030, 8, 31))


def test_a_vacation_without_its_last_day_asks_for_it() -> None:
    assert told("vacation until") == (
        "Give the last day of your vacation as YYYY-MM-DD.\nFor example: vacation until 2030-08-31"
    )


def test_skip_takes_nothing_but_today() -> None:
    assert told("skip tomorrow") == (
        "`skip` skips today's check-in and takes nothing else.\nFor example: skip"
    )


def test_timezone_takes_one_zone() -> None:
    assert told("timezone") == (
        "Give your time zone as Area/City.\nFor example: timezone Europe/Berlin"
    )

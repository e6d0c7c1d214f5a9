"""One rule, for every chat without slash commands, tells a typed command from an answer."""

from __future__ import annotations

import pytest

from core.typed import command_in


@pytest.mark.parametrize(
    ("typed", "command"),
    [("/vizdots help", "help"), ("  /VizDots  skip ", "skip"), ("/vizdots", ""),
     ("/vizdotsy", None)],
)  # fmt: skip
def test_a_line_starting_with_slash_vizdots_is_always_a_command(
    typed: str, command: str | None
) -> None:
    assert command_in(typed, question_waiting=True) == command


@pytest.mark.parametrize(
    "typed", ["help", "vacation until 2030-01-01", "Schedule set daily mon-fri 09:30"]
)
def test_a_command_word_is_a_command_when_no_question_waits(typed: str) -> None:
    assert command_in(typed, question_waiting=False) == typed


@pytest.mark.parametrize("typed", ["help", "skip", "time is short", "4"])
def test_while_a_question_waits_a_plain_line_is_the_answer(typed: str) -> None:
    assert command_in(typed, question_waiting=True) is None


@pytest.mark.parametrize("typed", ["hello", "4", "start", "", "   "])
def test_a_line_that_is_no_command_is_a_turn_when_nothing_waits(typed: str) -> None:
    assert command_in(typed, question_waiting=False) is None


def test_a_line_addressed_to_the_bot_is_a_command_even_while_a_question_waits() -> None:
    assert command_in(" help ", question_waiting=True, addressed=True) == "help"

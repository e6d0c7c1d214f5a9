"""`vizdots chat` as a newcomer meets it: the choices shown, commands typed plainly, and
a member who is done for today told when the next check-in is due."""

from __future__ import annotations

from tests.integration.test_cli import BEN, BEN_ANSWERS, CHAT_AT, demo_db, vizdots

__all__ = ["demo_db"]  # the fixture, shared with the CLI tests

MOOD_CHOICES = "[1 😫] [2 😕] [3 😐] [4 🙂] [5 😄] [Skip today]"


#: Ben's demo history ends with a planned focus: his check-in first asks how it went.
FOLLOW_UP = "went well\n"


def test_the_first_question_shows_its_choices(demo_db: str) -> None:
    chat = vizdots(demo_db, "chat", "--member", BEN, "--now", CHAT_AT, stdin=FOLLOW_UP)
    assert chat.returncode == 0, chat.stderr
    assert MOOD_CHOICES in chat.stdout.splitlines()


def test_a_member_done_for_today_is_told_when_the_next_check_in_is_due(demo_db: str) -> None:
    vizdots(demo_db, "chat", "--member", BEN, "--now", CHAT_AT, stdin=BEN_ANSWERS)
    again = vizdots(demo_db, "chat", "--member", BEN, "--now", CHAT_AT, stdin="")
    assert again.returncode == 0, again.stderr
    assert "You've had today's check-in already." in again.stdout
    assert (
        "Your next check-in (Daily check-in) is due Thu 09:00, Europe/Berlin time." in again.stdout
    )
    assert "start" not in again.stdout.lower().replace("started", "")


def test_a_member_done_for_today_can_still_type_commands(demo_db: str) -> None:
    vizdots(demo_db, "chat", "--member", BEN, "--now", CHAT_AT, stdin=BEN_ANSWERS)
    again = vizdots(demo_db, "chat", "--member", BEN, "--now", CHAT_AT, stdin="help\n")
    assert "Here's what you can ask me:" in again.stdout


def test_while_a_question_waits_a_command_word_is_taken_as_the_answer(demo_db: str) -> None:
    chat = vizdots(demo_db, "chat", "--member", BEN, "--now", CHAT_AT, stdin=FOLLOW_UP + "help\n")
    assert "Here's what you can ask me:" not in chat.stdout
    assert chat.stdout.count(MOOD_CHOICES) == 2  # asked again: "help" is no mood

"""Reading scale and choice answers from buttons and free text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.answers import is_skip, read_answer, read_choice, read_scale
from core.domain import Question, QuestionKind


@pytest.mark.parametrize(
    "text",
    [
        "4",
        "four",
        "Four!",
        "4/5",
        "4 / 5",
        "4 out of 5",
        "I'd say 4",
        "🙂",
        ":slightly_smiling_face:",
        "4️⃣",
    ],
)
def test_a_four_is_read_in_every_usual_form(text: str) -> None:
    assert read_scale(text) == 4


@pytest.mark.parametrize(
    "text", ["", "meh", "10", "3.5", "3 or 4", "0", "6", "between 2 and 5", "🙂😄"]
)
def test_an_unclear_scale_answer_is_not_guessed(text: str) -> None:
    assert read_scale(text) is None


def test_a_choice_is_read_by_label_or_number() -> None:
    question = Question("pace", "Pace?", QuestionKind.CHOICE, ("Too slow", "Right", "Too fast"))
    assert read_choice(question, "right") == "Right"
    assert read_choice(question, "3") == "Too fast"
    assert read_choice(question, "no idea") is None


def test_a_text_answer_is_kept_as_written() -> None:
    assert read_answer(Question("focus", "Focus?"), "  Ship it  ") == "Ship it"


@pytest.mark.parametrize("text", ["skip", "Skip today", "not today.", "PASS"])
def test_skip_words_are_recognised(text: str) -> None:
    assert is_skip(text)


@given(st.text())
def test_no_text_crashes_the_scale_reader(text: str) -> None:
    assert read_scale(text) in {None, 1, 2, 3, 4, 5}

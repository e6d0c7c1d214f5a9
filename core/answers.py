"""Reading a member's answer to a scale or choice question, from a button or free text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.domain import Question, QuestionKind

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_EMOJI = {
    "😫": 1, "😣": 1, "😞": 1, "☹️": 1, "☹": 1, ":tired_face:": 1, ":disappointed:": 1,
    "😕": 2, "🙁": 2, "😟": 2, ":confused:": 2, ":slightly_frowning_face:": 2,
    "😐": 3, "😶": 3, ":neutral_face:": 3,
    "🙂": 4, "😊": 4, ":slightly_smiling_face:": 4, ":blush:": 4,
    "😄": 5, "😁": 5, "🤩": 5, "😀": 5, ":smile:": 5, ":grin:": 5, ":star-struck:": 5,
    "1️⃣": 1, "2️⃣": 2, "3️⃣": 3, "4️⃣": 4, "5️⃣": 5,
}  # fmt: skip
_NUMBER = re.compile(r"(?<![\d.])([1-5])(?:\s*(?:/|out of|of)\s*5)?(?![\d.])")
_ANY_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
SKIP_WORDS = frozenset({"skip", "skip today", "not today", "pass"})


def read_scale(text: str) -> int | None:
    """A 1–5 value from "4", "four", "4/5", "4 out of 5" or a face emoji; None if unclear."""
    cleaned = text.strip().lower()
    emoji = {value for symbol, value in _EMOJI.items() if symbol in cleaned}
    words = {value for word, value in _WORDS.items() if re.search(rf"\b{word}\b", cleaned)}
    without_of_five = re.sub(r"(/|out of|of)\s*5\b", "", cleaned)
    numbers = _ANY_NUMBER.findall(without_of_five)
    digits = {int(n) for n in numbers if n in {"1", "2", "3", "4", "5"}}
    if len(numbers) > len(digits):
        return None  # "10", "3.5" or several numbers: ask again rather than guess
    found = emoji | words | digits
    return found.pop() if len(found) == 1 else None


def read_choice(question: Question, text: str) -> str | None:
    """One of the question's choices, by label (any case) or by its 1-based number."""
    cleaned = text.strip().lower()
    for choice in question.choices:
        if cleaned == choice.lower():
            return choice
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(question.choices):
        return question.choices[int(cleaned) - 1]
    matches = [c for c in question.choices if c.lower() in cleaned]
    return matches[0] if len(matches) == 1 else None


def read_answer(question: Question, text: str) -> int | str | None:
    """The answer's value for the question's kind; None means "ask again"."""
    if question.kind is QuestionKind.SCALE:
        return read_scale(text)
    if question.kind is QuestionKind.CHOICE:
        return read_choice(question, text)
    return text.strip() or None


def with_answer(state: Mapping[str, Any], question: Question, value: int | str) -> dict[str, Any]:
    """The session state with the member's answer; a follow-up adds to a text answer."""
    answers = dict(state.get("answers", {}))
    previous = answers.get(question.key)
    if question.kind is QuestionKind.TEXT and isinstance(previous, str) and previous:
        value = f"{previous}\n{value}"
    answers[question.key] = value
    return {**state, "answers": answers}


def is_skip(text: str) -> bool:
    return text.strip().lower().rstrip(".!") in SKIP_WORDS


def reask(question: Question) -> str:
    if question.kind is QuestionKind.SCALE:
        return "Sorry, I didn't catch that — please answer with a number from 1 to 5 (or a button)."
    options = ", ".join(question.choices)
    return f"Sorry, I didn't catch that — please pick one of: {options}."

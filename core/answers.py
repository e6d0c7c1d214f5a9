"""Reading a member's answer to a scale or choice question, from a button or free text.

Answers are read in every shipped language, the member's own first: "vier", "quatre",
"cuatro" are a 4; "keine", "rien", "nada" say there is none; a choice may be typed as
its label in any language ("noch blockiert") and is stored as its canonical value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.domain import Question, QuestionKind
from core.i18n import LANGUAGES, _, catalog, current_language

#: The numbers 1–5 in words, by language. Words that are also articles ("un", "ein",
#: "una", "um") count only as a whole answer.
_NUMBER_WORDS: dict[str, dict[str, int]] = {
    "en": {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5},
    "de": {"eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "fuenf": 5, "funf": 5},
    "fr": {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5},
    "es": {"uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5},
    "pt": {"dois": 2, "duas": 2, "três": 3, "tres": 3, "quatro": 4, "cinco": 5},
}
_ALONE_WORDS = {"ein": 1, "eine": 1, "un": 1, "une": 1, "una": 1, "um": 1, "uma": 1}
#: "4 out of 5" in every shipped language.
_OF_FIVE = r"(/|out of|of|von|sur|de|em)\s*5\b"
#: Answers that say there is nothing (no blocker, nothing to report), in every language.
NONE_WORDS = frozenset(
    {"none", "no", "nope", "nothing", "n/a", "na", "-", "all good", "nothing really"}
    | {"keine", "keiner", "kein", "nichts", "nein", "nö", "alles gut", "nix"}
    | {"rien", "aucun", "aucune", "non", "rien du tout", "tout va bien"}
    | {"nada", "ninguno", "ninguna", "ningún", "todo bien"}
    | {"nenhum", "nenhuma", "não", "nao", "tudo bem"}
)
#: Words that deny the label after them ("not resolved", "nicht gelöst", "pas résolu").
_NEGATIONS = frozenset(
    {"not", "no", "never", "isn't", "isnt", "nicht", "kein", "keine", "nie", "pas", "non"}
    | {"jamais", "nunca", "não", "nao"}
)
_EMOJI = {
    "😫": 1, "😣": 1, "😞": 1, "☹️": 1, "☹": 1, ":tired_face:": 1, ":disappointed:": 1,
    "😕": 2, "🙁": 2, "😟": 2, ":confused:": 2, ":slightly_frowning_face:": 2,
    "😐": 3, "😶": 3, ":neutral_face:": 3,
    "🙂": 4, "😊": 4, ":slightly_smiling_face:": 4, ":blush:": 4,
    "😄": 5, "😁": 5, "🤩": 5, "😀": 5, ":smile:": 5, ":grin:": 5, ":star-struck:": 5,
    "1️⃣": 1, "2️⃣": 2, "3️⃣": 3, "4️⃣": 4, "5️⃣": 5,
}  # fmt: skip
_ANY_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
SKIP_WORDS = frozenset(
    {"skip", "skip today", "not today", "pass"}
    | {"heute nicht", "pas aujourd'hui", "hoy no", "hoje não", "hoje nao"}
)


def read_scale(text: str) -> int | None:
    """A 1–5 value from "4", "four", "vier", "4/5", "4 out of 5" or a face emoji; None if
    unclear. Number words are read in the member's language first, then in any other."""
    cleaned = text.strip().lower()
    emoji = {value for symbol, value in _EMOJI.items() if symbol in cleaned}
    without_of_five = re.sub(_OF_FIVE, "", cleaned)
    numbers = _ANY_NUMBER.findall(without_of_five)
    digits = {int(n) for n in numbers if n in {"1", "2", "3", "4", "5"}}
    if len(numbers) > len(digits):
        return None  # "10", "3.5" or several numbers: ask again rather than guess
    found = emoji | digits | _number_words(cleaned)
    return found.pop() if len(found) == 1 else None


def _number_words(cleaned: str) -> set[int]:
    """The numbers spelled in `cleaned`: in the current language if it spells any, else
    in the first other shipped language that does."""
    if cleaned.rstrip(".!") in _ALONE_WORDS:
        return {_ALONE_WORDS[cleaned.rstrip(".!")]}
    first = current_language()
    for language in (first, *(lang for lang in LANGUAGES if lang != first)):
        words = _NUMBER_WORDS.get(language, {})
        found = {value for word, value in words.items() if re.search(rf"\b{word}\b", cleaned)}
        if found:
            return found
    return set()


def means_none(text: str) -> bool:
    """Whether an answer says there is nothing ("none", "keine", "rien", "nada" …)."""
    return text.strip().lower().rstrip(".!") in NONE_WORDS


def labels_of(choice: str) -> set[str]:
    """A choice's label in every shipped language, lower case (the value itself too)."""
    return {choice.lower()} | {
        catalog(language).get(choice, choice).lower() for language in LANGUAGES
    }


def read_choice(question: Question, text: str) -> str | None:
    """One of the question's choices (its canonical value), by its label in any shipped
    language (any case) or by its 1-based number."""
    cleaned = text.strip().lower()
    labels = {choice: labels_of(choice) for choice in question.choices}
    for choice in question.choices:
        if cleaned in labels[choice]:
            return choice
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(question.choices):
        return question.choices[int(cleaned) - 1]
    matches = [c for c in question.choices if any(_says(cleaned, label) for label in labels[c])]
    return matches[0] if len(matches) == 1 else None


def _says(cleaned: str, label: str) -> bool:
    """Whether the text holds the label as whole words, not denied by one of the two words
    before it ("resolved" is not in "unresolved"; "not yet resolved" does not say it)."""
    for found in re.finditer(rf"(?<!\w){re.escape(label)}(?!\w)", cleaned):
        before = re.findall(r"[\w']+", cleaned[: found.start()])[-2:]
        if not _NEGATIONS.intersection(before):
            return True
    return False


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
    """Asking again, in the current language (choices by their translated labels)."""
    if question.kind is QuestionKind.SCALE:
        return _(
            "Sorry, I didn't catch that — please answer with a number from 1 to 5 (or a button)."
        )
    options = ", ".join(_(choice) for choice in question.choices)
    return _("Sorry, I didn't catch that — please pick one of: {options}.", options=options)

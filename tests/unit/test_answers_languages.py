"""Answers read in every shipped language: number words, "none", skipping, choice labels."""

from __future__ import annotations

import pytest

from core.answers import is_skip, means_none, read_answer, read_scale
from core.catalog import GLOBAL_AGENTS
from core.domain import Question, QuestionKind
from core.i18n import speaking
from core.scripted_brain import extract_dots

BLOCKER_STATUS = next(q for q in GLOBAL_AGENTS[0].questions if q.key == "blocker_status")


@pytest.mark.parametrize(
    ("language", "text", "value"),
    [
        ("de", "vier", 4), ("de", "Fünf!", 5), ("de", "eins", 1), ("de", "4 von 5", 4),
        ("fr", "quatre", 4), ("fr", "deux", 2), ("fr", "un", 1), ("fr", "3 sur 5", 3),
        ("es", "cuatro", 4), ("es", "cinco", 5), ("es", "uno", 1),
        ("pt", "quatro", 4), ("pt", "três", 3), ("pt", "dois", 2),
    ],
)  # fmt: skip
def test_a_number_word_of_the_members_language_is_read(
    language: str, text: str, value: int
) -> None:
    with speaking(language):
        assert read_scale(text) == value


def test_a_number_word_of_another_shipped_language_is_read_too() -> None:
    with speaking("en"):
        assert read_scale("vier") == 4 and read_scale("cuatro") == 4


def test_an_article_inside_a_sentence_is_not_read_as_one() -> None:
    with speaking("fr"):
        assert read_scale("un peu fatigué") is None


@pytest.mark.parametrize("text", ["keine", "Nichts.", "rien", "aucun", "nada", "ninguno", "nenhum"])
def test_none_is_understood_in_every_language(text: str) -> None:
    assert means_none(text)
    blockers = Question(key="blockers", text="?", kind=QuestionKind.TEXT)
    answer = read_answer(blockers, text)
    assert extract_dots(GLOBAL_AGENTS[0], {"blockers": answer}) == {"blockers": "none"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("noch blockiert", "still blocked"), ("gelöst", "resolved"),
        ("toujours bloqué", "still blocked"), ("résolu", "resolved"),
        ("sigue bloqueado", "still blocked"), ("resuelto", "resolved"),
        ("ainda bloqueado", "still blocked"), ("resolvido", "resolved"),
    ],
)  # fmt: skip
def test_a_choice_typed_as_its_translated_label_is_its_canonical_value(
    text: str, value: str
) -> None:
    assert read_answer(BLOCKER_STATUS, text) == value


@pytest.mark.parametrize("text", ["heute nicht", "pas aujourd'hui", "hoy no", "hoje não"])
def test_not_today_skips_in_every_language(text: str) -> None:
    assert is_skip(text)


@pytest.mark.parametrize(
    "text",
    ["not resolved", "not yet resolved", "nicht gelöst", "noch nicht gelöst", "pas résolu",
     "non résolu", "no resuelto", "não resolvido", "unresolved"],
)  # fmt: skip
def test_a_denied_choice_label_is_not_read_as_that_choice(text: str) -> None:
    assert read_answer(BLOCKER_STATUS, text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("it is resolved now", "resolved"), ("ist gelöst, danke", "resolved"),
     ("c'est résolu", "resolved"), ("leider noch blockiert", "still blocked")],
)  # fmt: skip
def test_a_choice_label_inside_a_sentence_is_read(text: str, value: str) -> None:
    assert read_answer(BLOCKER_STATUS, text) == value

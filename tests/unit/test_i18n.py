"""How core/i18n picks the language and fills a translated text."""

from __future__ import annotations

import asyncio

import pytest

from core.i18n import _, current_language, language_of, n_, plural_rule, speaking

MOOD = "How are you feeling today, from 1 (rough) to 5 (great)?"


@pytest.mark.parametrize(
    ("tag", "language"),
    [("de-DE", "de"), ("pt_BR", "pt"), ("FR", "fr"), ("es-419", "es"), ("en-GB", "en")],
)
def test_a_locale_tag_names_its_shipped_language(tag: str, language: str) -> None:
    assert language_of(tag) == language


@pytest.mark.parametrize("tag", [None, "", "ja-JP", "klingon"])
def test_a_locale_tag_of_no_shipped_language_names_none(tag: str | None) -> None:
    assert language_of(tag) is None


def test_texts_come_in_the_language_being_spoken() -> None:
    with speaking("de"):
        assert _(MOOD) == "Wie geht es dir heute, von 1 (schlecht) bis 5 (großartig)?"
    assert _(MOOD) == MOOD


def test_an_unshipped_language_speaks_english() -> None:
    with speaking("ja"):
        assert current_language() == "en"
        assert _(MOOD) == MOOD


def test_a_text_without_a_translation_is_said_in_english_with_its_values() -> None:
    with speaking("fr"):
        assert _("No such text {name}", name="Ada") == "No such text Ada"


def test_counts_choose_the_plural_form() -> None:
    assert n_("{count} check-in", "{count} check-ins", 1) == "1 check-in"
    assert n_("{count} check-in", "{count} check-ins", 3) == "3 check-ins"


def test_tasks_started_while_speaking_keep_the_language() -> None:
    async def spoken() -> str:
        return current_language()

    async def main() -> str:
        with speaking("es"):
            task = asyncio.create_task(spoken())
        return await task

    assert asyncio.run(main()) == "es"


@pytest.mark.parametrize(("language", "count", "index"), [("fr", 0, 0), ("fr", 2, 2), ("de", 0, 1)])
def test_plural_forms_follow_each_languages_rule(language: str, count: int, index: int) -> None:
    assert plural_rule(language)(count) == index

"""`language …` as typed: codes, locale tags and the languages' own names; and the words
of a command answer (weekday names, parse errors) in the language being spoken."""

from __future__ import annotations

import pytest

from core.commands.parser import parse_command
from core.commands.types import CommandSyntaxError, LanguageOrg, LanguageSet, LanguageShow
from core.commands.values import weekdays_in_words
from core.i18n import speaking

EVERY_LANGUAGE = "English (en), Deutsch (de), Français (fr), Español (es), Português (pt)"


def test_language_alone_shows_the_language() -> None:
    assert parse_command("language") == LanguageShow()


@pytest.mark.parametrize(
    ("typed", "language"),
    [
        ("de", "de"), ("FR", "fr"), ("pt-BR", "pt"), ("es_MX", "es"), ("en", "en"),
        ("deutsch", "de"), ("Français", "fr"), ("francais", "fr"), ("español", "es"),
        ("Português", "pt"), ("english", "en"), ("german", "de"),
    ],
)  # fmt: skip
def test_a_language_is_named_by_its_code_or_its_name(typed: str, language: str) -> None:
    assert parse_command(f"language {typed}") == LanguageSet(language=language)


def test_the_org_language_is_set_with_org() -> None:
    assert parse_command("/vizdots language org Deutsch") == LanguageOrg(language="de")


@pytest.mark.parametrize("typed", ["language klingon", "language org xx", "language de fr"])
def test_an_unknown_language_is_refused_with_the_shipped_ones(typed: str) -> None:
    with pytest.raises(CommandSyntaxError) as caught:
        parse_command(typed)
    assert EVERY_LANGUAGE in caught.value.problem
    assert caught.value.example.startswith("language ")


def test_a_parse_error_is_explained_in_the_language_spoken() -> None:
    with speaking("de"), pytest.raises(CommandSyntaxError) as caught:
        parse_command("time 25:00")
    assert str(caught.value) == (
        "'25:00' ist keine Uhrzeit (nutze HH:MM von 00:00 bis 23:59).\nZum Beispiel: time 08:30"
    )


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Mon, Wed, Fri"), ("de", "Mo., Mi., Fr."), ("fr", "lun., mer., ven."),
     ("es", "lun, mié, vie"), ("pt", "seg., qua., sex.")],
)  # fmt: skip
def test_weekdays_are_named_in_the_language_spoken(language: str, words: str) -> None:
    with speaking(language):
        assert weekdays_in_words(frozenset({0, 2, 4})) == words


def test_a_group_of_days_is_named_in_the_language_spoken() -> None:
    with speaking("fr"):
        assert weekdays_in_words(frozenset(range(5))) == "en semaine"

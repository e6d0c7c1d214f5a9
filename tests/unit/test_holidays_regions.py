"""Regions as members type them, and the calendars behind them."""

from __future__ import annotations

from datetime import date

import pytest

from core.i18n import speaking
from core.public_holidays import UnknownRegion, holiday_name, parse_region


@pytest.mark.parametrize(
    ("typed", "region"),
    [("de", "DE"), ("de-by", "DE-BY"), ("US-CA", "US-CA"), ("gb-sct", "GB-SCT")],
)
def test_a_known_region_reads_in_its_canonical_form(typed: str, region: str) -> None:
    assert parse_region(typed) == region


@pytest.mark.parametrize("typed", ["XX", "DE-ZZ", "US-XX"])
def test_an_unknown_region_is_refused(typed: str) -> None:
    with pytest.raises(UnknownRegion):
        parse_region(typed)


def test_epiphany_is_bavarian_and_not_berlins() -> None:
    assert holiday_name("DE-BY", date(2027, 1, 6)) == "Epiphany"
    assert holiday_name("DE-BE", date(2027, 1, 6)) is None
    assert holiday_name(None, date(2026, 12, 25)) is None


@pytest.mark.parametrize(
    ("language", "region", "day", "name"),
    [
        ("de", "DE-BY", date(2027, 1, 6), "Heilige Drei Könige"),
        ("fr", "FR", date(2026, 7, 14), "Fête nationale"),
        ("pt", "BR", date(2026, 9, 7), "Independência do Brasil"),
        ("en", "DE-BY", date(2027, 1, 6), "Epiphany"),
    ],
)
def test_a_holiday_is_named_in_the_language_spoken(
    language: str, region: str, day: date, name: str
) -> None:
    with speaking(language):
        assert holiday_name(region, day) == name


def test_a_language_the_calendar_lacks_names_it_in_english() -> None:
    with speaking("pt"):  # Germany's calendar has German and English, not Portuguese
        assert holiday_name("DE-BY", date(2027, 1, 6)) == "Epiphany"

"""Regions as members type them, and the calendars behind them."""

from __future__ import annotations

from datetime import date

import pytest

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

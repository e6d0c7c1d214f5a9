"""Public holidays by region: a country ("DE") or a country's subdivision ("DE-BY").

The calendars come from the `holidays` package (offline, maintained). An org has a
region; a member may have their own, or have holidays off. Planning asks once per
distinct region for the dates it plans, never once per member.

Holidays are named in the language being spoken (core.i18n: the member's, or the org's
for an org-wide text) where the package has that language for the country, else in
English — always explicitly: left to itself the package reads the process's locale.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays

from core.i18n import DEFAULT_LANGUAGE, N_, _, current_language
from core.store.models import Member, Organization

#: Why a session on a public holiday is skipped (planning and delivery say the same).
PUBLIC_HOLIDAY = "public holiday"
NOT_A_COUNTRY = N_("'{typed}' is not a country code like DE, FR or US")
NOT_A_REGION = N_("'{typed}' is not a region of {country} (e.g. {examples})")


class UnknownRegion(ValueError):
    """Not a country code, or not one of that country's subdivisions."""


def parse_region(text: str) -> str:
    """`text` as a canonical region ("de-by" → "DE-BY"); UnknownRegion when unknown."""
    country, _dash, subdivision = text.strip().upper().partition("-")
    try:  # only that country's calendar is loaded, not every country's
        subdivisions = holidays.country_holidays(country).subdivisions
    except NotImplementedError:
        raise UnknownRegion(_(NOT_A_COUNTRY, typed=text.strip())) from None
    if not subdivision:
        return country
    codes = {code.upper(): code for code in subdivisions}
    if subdivision not in codes:
        examples = ", ".join(f"{country}-{code}" for code in sorted(codes.values())[:4])
        raise UnknownRegion(_(NOT_A_REGION, typed=text.strip(), country=country, examples=examples))
    return f"{country}-{codes[subdivision]}"


def effective_region(org: Organization, member: Member) -> str | None:
    """The region whose public holidays the member has off, or None."""
    if member.holidays_off:
        return None
    return member.holiday_region or org.holiday_region


def holiday_name(region: str | None, day: date) -> str | None:
    """The public holiday on `day` in `region`, or None (also for no or unknown region),
    named in the current language where the calendar has it, else in English."""
    if region is None:
        return None
    return _calendar(region, day.year, current_language()).get(day)


def holiday_dates(region: str, days: Iterable[date]) -> set[date]:
    """Those of `days` that are public holidays in `region`."""
    return {day for day in days if _calendar(region, day.year, DEFAULT_LANGUAGE).get(day)}


@lru_cache(maxsize=512)
def _calendar(region: str, year: int, language: str) -> dict[date, str]:
    """One region's holidays of one year (an unknown stored region has none)."""
    country, _dash, subdivision = region.partition("-")
    try:
        entity = holidays.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError:
        return {}
    named = holidays.country_holidays(
        country, subdiv=subdivision or None, years=year, language=_named_in(entity, language)
    )
    return dict(named.items())


def _named_in(entity: holidays.HolidayBase, language: str) -> str | None:
    """The calendar's own code for `language` ("pt" → "pt_BR" in Brazil), else its
    English, else None (its original language: no English to fall back on)."""
    supported = sorted(entity.supported_languages)
    default = entity.default_language or ""
    for wanted in (language, DEFAULT_LANGUAGE):
        if default.split("_")[0] == wanted:
            return default
        if wanted == DEFAULT_LANGUAGE and "en_US" in supported:
            return "en_US"
        matching = [code for code in supported if code.split("_")[0] == wanted]
        if matching:
            return matching[0]
    return None

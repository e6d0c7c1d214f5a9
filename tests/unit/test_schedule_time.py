"""Local schedule times to UTC instants: DST gaps and overlaps, weekdays, windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.schedule_time import (
    ALL_WEEKDAYS,
    candidate_slots,
    due_at,
    expires_at,
    mask_contains,
    weekdays_mask,
)

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
CHATHAM = ZoneInfo("Pacific/Chatham")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SANTIAGO = ZoneInfo("America/Santiago")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        # New York springs forward 02:00 EST -> 03:00 EDT on 2026-03-08.
        (NEW_YORK, date(2026, 3, 8), time(1, 59), _utc(2026, 3, 8, 6, 59)),
        (NEW_YORK, date(2026, 3, 8), time(2, 0), _utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), _utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(3, 0), _utc(2026, 3, 8, 7)),
        (NEW_YORK, date(2026, 3, 8), time(9, 0), _utc(2026, 3, 8, 13)),
        # ... and falls back 02:00 EDT -> 01:00 EST on 2026-11-01: 01:xx happens twice.
        (NEW_YORK, date(2026, 11, 1), time(0, 59), _utc(2026, 11, 1, 4, 59)),
        (NEW_YORK, date(2026, 11, 1), time(1, 30), _utc(2026, 11, 1, 5, 30)),
        (NEW_YORK, date(2026, 11, 1), time(2, 0), _utc(2026, 11, 1, 7)),
        # Kolkata: +05:30 all year.
        (KOLKATA, date(2026, 1, 15), time(9), _utc(2026, 1, 15, 3, 30)),
        (KOLKATA, date(2026, 7, 15), time(9), _utc(2026, 7, 15, 3, 30)),
        # Chatham: 02:45 +12:45 -> 03:45 +13:45 on 2026-09-27; back on 2026-04-05.
        (CHATHAM, date(2026, 9, 27), time(2, 44), _utc(2026, 9, 26, 13, 59)),
        (CHATHAM, date(2026, 9, 27), time(2, 50), _utc(2026, 9, 26, 14)),
        (CHATHAM, date(2026, 9, 27), time(3, 45), _utc(2026, 9, 26, 14)),
        (CHATHAM, date(2026, 4, 5), time(3, 0), _utc(2026, 4, 4, 13, 15)),
        (CHATHAM, date(2026, 4, 5), time(3, 45), _utc(2026, 4, 4, 15)),
        # Lord Howe moves by half an hour: 02:00 -> 02:30 on 2026-10-04, back on 2026-04-05.
        (LORD_HOWE, date(2026, 10, 4), time(2, 15), _utc(2026, 10, 3, 15, 30)),
        (LORD_HOWE, date(2026, 10, 4), time(2, 30), _utc(2026, 10, 3, 15, 30)),
        (LORD_HOWE, date(2026, 4, 5), time(1, 45), _utc(2026, 4, 4, 14, 45)),
        (LORD_HOWE, date(2026, 4, 5), time(2, 0), _utc(2026, 4, 4, 15, 30)),
    ],
)
def test_due_at_follows_the_dst_rules(
    zone: ZoneInfo, day: date, at: time, expected: datetime
) -> None:
    assert due_at(local_date=day, at=at, zone=zone) == expected


def test_due_at_is_utc() -> None:
    assert due_at(local_date=date(2026, 6, 1), at=time(9), zone=KOLKATA).tzinfo is UTC


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        (NEW_YORK, date(2026, 3, 7), _utc(2026, 3, 8, 5)),  # next midnight is still EST
        (NEW_YORK, date(2026, 3, 8), _utc(2026, 3, 9, 4)),  # ... now EDT
        (NEW_YORK, date(2026, 10, 31), _utc(2026, 11, 1, 4)),
        (NEW_YORK, date(2026, 11, 1), _utc(2026, 11, 2, 5)),  # a 25-hour day
        (SANTIAGO, date(2026, 9, 5), _utc(2026, 9, 6, 4)),  # midnight skipped: 01:00 -03
        (LORD_HOWE, date(2026, 10, 4), _utc(2026, 10, 4, 13)),
    ],
)
def test_expires_at_is_the_start_of_the_next_local_day_plus_grace(
    zone: ZoneInfo, day: date, expected: datetime
) -> None:
    grace = timedelta(hours=3)
    assert expires_at(local_date=day, zone=zone, grace=grace) == expected + grace


def test_weekday_masks() -> None:
    assert weekdays_mask(range(5)) == 0b0011111
    assert weekdays_mask([]) == 0
    assert weekdays_mask(range(7)) == ALL_WEEKDAYS
    assert mask_contains(weekdays_mask([0, 6]), weekday=6)
    assert not mask_contains(weekdays_mask([0, 6]), weekday=5)
    with pytest.raises(ValueError, match="weekday"):
        weekdays_mask([7])


def _slot_dates(**kw: object) -> list[date]:
    params: dict[str, object] = {"at": time(9), "zone": ZoneInfo("UTC")}
    params |= {"horizon": timedelta(hours=36), "grace": timedelta(hours=2)} | kw
    return [slot.local_date for slot in candidate_slots(**params)]


def test_candidate_slots_keep_only_the_mask_weekdays() -> None:
    tuesday = _utc(2026, 6, 9, 6)
    mon_wed_fri = weekdays_mask([0, 2, 4])
    found = _slot_dates(weekdays=mon_wed_fri, now=tuesday, horizon=timedelta(days=4))
    assert found == [date(2026, 6, 10), date(2026, 6, 12)]
    assert _slot_dates(weekdays=0, now=tuesday, horizon=timedelta(days=4)) == []


def test_a_slot_already_due_is_planned_while_at_most_three_hours_late() -> None:
    two_hours_late = _utc(2026, 6, 11, 11)
    assert _slot_dates(weekdays=ALL_WEEKDAYS, now=two_hours_late) == [
        date(2026, 6, 11),
        date(2026, 6, 12),
    ]


def test_a_morning_check_in_is_not_planned_in_the_evening() -> None:
    evening = _utc(2026, 6, 11, 18)
    assert date(2026, 6, 11) not in _slot_dates(weekdays=ALL_WEEKDAYS, now=evening)
    assert date(2026, 6, 10) not in _slot_dates(weekdays=ALL_WEEKDAYS, now=_utc(2026, 6, 11, 1))


def test_candidate_slots_include_the_horizon_itself() -> None:
    now = _utc(2026, 6, 10, 21)
    found = _slot_dates(weekdays=ALL_WEEKDAYS, now=now, horizon=timedelta(hours=12))
    assert found == [date(2026, 6, 11)]


def test_candidate_slots_refuse_a_naive_now() -> None:
    with pytest.raises(ValueError, match="naive"):
        _slot_dates(weekdays=ALL_WEEKDAYS, now=datetime(2026, 6, 10))


ZONES = sorted(available_timezones())


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    return instant.astimezone(zone).replace(tzinfo=None) == wall


def _offset_changes(zone: ZoneInfo, year: int) -> list[datetime]:
    """The UTC instants (to the minute) at which the zone's offset changes in `year`."""
    changes = []
    day = _utc(year, 1, 1)
    while day.year == year:
        low, high = day, day + timedelta(days=1)
        if low.astimezone(zone).utcoffset() != high.astimezone(zone).utcoffset():
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                same = middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            changes.append(high)
        day += timedelta(days=1)
    return changes


def _check_due_at(zone: ZoneInfo, requested: datetime) -> None:
    result = due_at(local_date=requested.date(), at=requested.time(), zone=zone)
    wall = result.astimezone(zone).replace(tzinfo=None)
    assert wall >= requested
    assert wall.second == wall.microsecond == 0
    # The first occurrence of that wall time, never the repeat of an overlap.
    assert result == wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    # Every minute skipped over does not exist on the local clock.
    assert wall - requested <= timedelta(days=1, hours=1)
    skipped = requested
    while skipped < wall:
        assert not _exists(skipped, zone)
        skipped += timedelta(minutes=1)


@settings(max_examples=400, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    day=st.dates(min_value=date(1900, 1, 2), max_value=date(2100, 12, 30)),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_due_at_is_the_requested_wall_time_or_the_first_valid_minute_after(
    zone_name: str, day: date, hour: int, minute: int
) -> None:
    _check_due_at(ZoneInfo(zone_name), datetime.combine(day, time(hour, minute)))


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    year=st.integers(1970, 2040),
    pick=st.integers(0, 10),
    minutes=st.integers(-150, 150),
)
def test_due_at_around_real_offset_changes(
    zone_name: str, year: int, pick: int, minutes: int
) -> None:
    """Aims at the DST gaps and overlaps that random dates almost never hit."""
    zone = ZoneInfo(zone_name)
    changes = _offset_changes(zone, year)
    if not changes:
        return
    change = changes[pick % len(changes)]
    before = (change - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
    requested = (before + timedelta(minutes=1 + minutes)).replace(second=0, microsecond=0)
    _check_due_at(zone, requested)


def test_a_date_the_zone_skipped_has_no_slot() -> None:
    apia = ZoneInfo("Pacific/Apia")  # went from 2011-12-29 straight to 2011-12-31
    now = _utc(2011, 12, 29, 12)
    found = _slot_dates(weekdays=ALL_WEEKDAYS, zone=apia, now=now, horizon=timedelta(days=2))
    assert found == [date(2011, 12, 29), date(2011, 12, 31)]


@settings(max_examples=200, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    now=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 12, 30)),
    weekdays=st.integers(0, ALL_WEEKDAYS),
)
def test_every_candidate_slot_is_answerable_in_the_window(
    zone_name: str, now: datetime, weekdays: int
) -> None:
    zone, now = ZoneInfo(zone_name), now.replace(tzinfo=UTC)
    horizon, grace = timedelta(hours=36), timedelta(hours=2)
    slots = candidate_slots(
        weekdays=weekdays, at=time(9), zone=zone, now=now, horizon=horizon, grace=grace
    )
    assert len({slot.local_date for slot in slots}) == len(slots)
    for slot in slots:
        assert mask_contains(weekdays, weekday=slot.local_date.weekday())
        assert slot.due_at < slot.expires_at - grace
        assert slot.due_at <= now + horizon
        assert slot.expires_at > now

"""Local wall-clock schedules turned into UTC instants, DST-correct (pure, no I/O).

Rules (DESIGN.md, "due_at ... DST-correct"):

- a local time that does not exist that day (a spring-forward gap) moves to the
  first valid minute after the gap: 02:30 on New York's spring-forward day is 03:00;
- an ambiguous local time (a fall-back overlap) takes its first occurrence (fold=0);
- a session expires at the start of the member's next local day (found by the same
  rules, since some zones skip midnight) plus a grace period.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALL_WEEKDAYS = 0b1111111
_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)


def weekdays_mask(days: Iterable[int]) -> int:
    """The bitmask of weekdays (Monday = 0 … Sunday = 6), as stored in schedules.weekdays."""
    mask = 0
    for day in days:
        if not 0 <= day <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {day}")
        mask |= 1 << day
    return mask


def mask_contains(mask: int, *, weekday: int) -> bool:
    return bool(mask >> weekday & 1)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall time of an instant (via UTC: astimezone to its own zone is a no-op)."""
    return instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose local wall time is at or after `wall`, which is in a gap.

    In a gap, fold=1 reads the wall time with the offset after the transition (an
    instant before it) and fold=0 with the offset before (an instant after it): the
    transition lies between, found by bisection over whole seconds.
    """
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if low > high:  # not a simple forward gap; fall back on the later reading
        return high
    first, last = 0, int((high - low).total_seconds())  # seconds after `low`
    while first < last:
        middle = (first + last) // 2
        if _wall(low + timedelta(seconds=middle), zone) >= wall:
            last = middle
        else:
            first = middle + 1
    return low + timedelta(seconds=first)


def _ceil_to_minute(instant: datetime, zone: ZoneInfo) -> datetime:
    """Round up to the next whole local minute (old LMT offsets have seconds)."""
    wall = _wall(instant, zone)
    extra = timedelta(seconds=wall.second, microseconds=wall.microsecond)
    return instant if not extra else instant + (_ONE_MINUTE - extra)


def due_at(*, local_date: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time `at` on `local_date` in `zone` (see module rules)."""
    wall = datetime.combine(local_date, at.replace(tzinfo=None))
    first = wall.replace(tzinfo=zone, fold=0)
    if _wall(first, zone) == wall:  # exists (fold=0 is the first of two if ambiguous)
        return first.astimezone(UTC)
    return _ceil_to_minute(_gap_end(wall, zone), zone)


def expires_at(*, local_date: date, zone: ZoneInfo, grace: timedelta) -> datetime:
    """End of `local_date` in `zone` (start of the next local day) plus `grace`."""
    return due_at(local_date=local_date + _ONE_DAY, at=time(0), zone=zone) + grace


@dataclass(frozen=True, slots=True)
class Slot:
    """One member-local date on which a schedule is due, with its UTC times."""

    local_date: date
    due_at: datetime
    expires_at: datetime


def _dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY


#: How late a check-in may still be sent (after an outage, or a schedule set mid-day).
MAX_LATENESS = timedelta(hours=3)


def candidate_slots(
    *,
    weekdays: int,
    at: time,
    zone: ZoneInfo,
    now: datetime,
    horizon: timedelta,
    grace: timedelta,
) -> list[Slot]:
    """Slots on the mask's weekdays due by `now + horizon` and still worth sending.

    A slot already due is included while it is at most MAX_LATENESS late (and not
    expired): a late planning run still creates this morning's session, which delivery
    sends at once, but a 09:00 check-in is never sent in the evening.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime given where a UTC instant is needed")
    until = now + horizon
    first = _wall(now - grace, zone).date() - _ONE_DAY
    last = _wall(until, zone).date() + _ONE_DAY
    slots = []
    for day in _dates(first, last):
        if not mask_contains(weekdays, weekday=day.weekday()):
            continue
        slot = _slot(local_date=day, at=at, zone=zone, grace=grace)
        if slot is None or slot.due_at > until or slot.expires_at <= now:
            continue
        if slot.due_at >= now - MAX_LATENESS:
            slots.append(slot)
    return slots


def _slot(*, local_date: date, at: time, zone: ZoneInfo, grace: timedelta) -> Slot | None:
    """The slot of one date, or None when the zone skipped that whole date (Samoa, 2011)."""
    due = due_at(local_date=local_date, at=at, zone=zone)
    day_end = expires_at(local_date=local_date, zone=zone, grace=timedelta(0))
    if due >= day_end:
        return None
    return Slot(local_date=local_date, due_at=due, expires_at=day_end + grace)

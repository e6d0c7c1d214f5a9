"""What the dashboard page draws, computed from core.insights: the period asked for,
dot colours (viridis, colour-blind safe, with the number written on the dot) and the
mood trend's SVG coordinates. No HTML here; the template escapes every value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.insights import Cell, CellState, DayMood

DEFAULT_DAYS = 30
MAX_DAYS = 92
#: viridis at 1…5 (dark purple to yellow): ordered in lightness, readable without hue.
MOOD_COLOURS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
MOOD_INK = ("#ffffff", "#ffffff", "#ffffff", "#1d2433", "#1d2433")
#: The trend chart's drawing area (the SVG scales to the width it is given).
CHART_W, CHART_H, PAD = 600, 160, 24


class BadRange(ValueError):
    """A period the page cannot show; the message says how to fix it."""


def period(since: str | None, until: str | None, *, now: datetime, zone: str) -> tuple[date, date]:
    """The dates asked for, or the last DEFAULT_DAYS days in `zone` (the viewer's)."""
    try:
        today = now.astimezone(ZoneInfo(zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        today = now.date()
    last = _parse(until, "until") if until else today
    first = _parse(since, "since") if since else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise BadRange("The start date is after the end date.")
    if (last - first).days >= MAX_DAYS:
        raise BadRange(f"Choose at most {MAX_DAYS} days.")
    return first, last


def _parse(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRange(f"`{name}` must be a date like 2026-11-25.") from None


def short(day: date) -> str:
    return f"{day.day} {day:%b}"


@dataclass(frozen=True, slots=True)
class DotLook:
    css: str  # mood, done, missed, away, none
    fill: str
    ink: str
    text: str
    label: str


def dot_look(cell: Cell) -> DotLook:
    """How one member-day shows: coloured by mood with its number, hollow when missed,
    grey when skipped or away; the label says it all in words."""
    when = f"{cell.member}, {short(cell.local_date)}"
    if cell.state is CellState.COMPLETED and cell.mood is not None:
        step = min(5, max(1, round(cell.mood))) - 1
        number = f"{cell.mood:g}"
        return DotLook("mood", MOOD_COLOURS[step], MOOD_INK[step], number, f"{when}: mood {number}")
    words = {
        CellState.COMPLETED: ("done", "checked in"),
        CellState.MISSED: ("missed", "missed"),
        CellState.SKIPPED: ("away", "skipped"),
        CellState.VACATION: ("away", "away"),
        CellState.NONE: ("none", "no check-in"),
    }
    css, said = words[cell.state]
    return DotLook(css, "", "", "", f"{when}: {said}")


@dataclass(frozen=True, slots=True)
class Trend:
    points: tuple[tuple[float, float, str], ...]  # x, y, label of each day's average
    moving: str  # the 7-day average as an SVG polyline's points
    gridlines: tuple[tuple[float, int], ...]  # y of mood 1…5


def trend(days: Sequence[DayMood]) -> Trend:
    """Scale moods 1…5 to the chart: each day's average a point, the 7-day average a line."""
    step = (CHART_W - 2 * PAD) / max(1, len(days) - 1)

    def y(mood: float) -> float:
        return round(CHART_H - PAD - (mood - 1) / 4 * (CHART_H - 2 * PAD), 1)

    points = tuple(
        (round(PAD + i * step, 1), y(d.average), f"{short(d.local_date)}: {d.average:.1f}")
        for i, d in enumerate(days)
        if d.average is not None
    )
    moving = " ".join(
        f"{round(PAD + i * step, 1)},{y(d.moving_average)}"
        for i, d in enumerate(days)
        if d.moving_average is not None
    )
    return Trend(points, moving, tuple((y(m), m) for m in range(1, 6)))

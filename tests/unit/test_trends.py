"""core.trends: repeated blockers, moving averages and the week-over-week change."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.trends import Tally, moving_averages, normalised, repeated_runs, week_over_week

DAY = date(2026, 11, 25)


def said(*answers: str | None) -> list[tuple[date, str | None]]:
    return [(DAY + timedelta(days=n), text) for n, text in enumerate(answers)]


def test_answers_compare_without_case_spaces_or_a_final_full_stop() -> None:
    assert normalised("  Waiting on  LEGAL. ") == normalised("waiting on legal")
    assert [normalised(text) for text in ("None", " n/a ", "-", None)] == [None] * 4


def test_the_same_blocker_three_check_ins_in_a_row_is_a_run() -> None:
    [run] = repeated_runs(said("legal", "Legal", "LEGAL.", "legal"))
    assert (run.text, run.length, run.first, run.last) == ("legal", 4, DAY, DAY + timedelta(3))


def test_two_in_a_row_or_an_interruption_is_no_run() -> None:
    assert repeated_runs(said("legal", "legal")) == []
    assert repeated_runs(said("legal", "legal", "none", "legal", "legal")) == []
    assert repeated_runs(said("none", "none", "none")) == []


def test_the_moving_average_weighs_every_answer_of_the_last_seven_days() -> None:
    tallies = {DAY - timedelta(days=7): Tally(5.0, 1), DAY - timedelta(days=1): Tally(4.0, 2),
               DAY: Tally(1.0, 1)}  # fmt: skip
    moving = moving_averages(tallies, [DAY - timedelta(days=7), DAY])
    assert moving == {DAY - timedelta(days=7): 5.0, DAY: pytest.approx(5 / 3)}


def test_week_over_week_needs_answers_in_both_weeks() -> None:
    last_week = {DAY - timedelta(days=8): Tally(8.0, 2)}
    assert week_over_week(last_week, until=DAY) is None
    both = {**last_week, DAY: Tally(3.0, 1)}
    assert week_over_week(both, until=DAY) == (4.0, 3.0)

"""away_reason: which Slack statuses mean "away today" (the check-in is skipped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.status import away_reason

END_OF_TODAY = datetime(2026, 11, 17, 0, 0, tzinfo=UTC)
TOMORROW = int((END_OF_TODAY + timedelta(days=1)).timestamp())
LATER_TODAY = int((END_OF_TODAY - timedelta(hours=3)).timestamp())


def reason(text: str = "", emoji: str = "", expiration: int = 0) -> str | None:
    return away_reason(
        status_text=text,
        status_emoji=emoji,
        status_expiration=expiration,
        end_of_today=END_OF_TODAY,
    )


def test_a_vacation_status_reads_as_its_emoji_and_text() -> None:
    assert reason("On vacation", ":palm_tree:") == "Slack status: 🌴 On vacation"


@pytest.mark.parametrize(
    "text",
    [
        "OOO",
        "ooo until Monday",
        "Out of office",
        "out-of-the-office!",
        "Out sick",
        "off sick today",
        "Feeling ill",
        "On vacation",
        "Vacationing in Lisbon",
        "Holiday",
        "Bank holidays",
        "PTO",
        "pto until 12/3",
        "On leave",
        "Parental leave",
        "Sick",
        "Off today",
        "Day off",
        "Not working today",
    ],
)
def test_away_words_in_common_forms_mean_away(text: str) -> None:
    assert reason(text) == f"Slack status: {text}"


@pytest.mark.parametrize(
    "emoji",
    [
        ":palm_tree:",
        ":desert_island:",
        ":beach_with_umbrella:",
        ":airplane:",
        ":face_with_thermometer:",
        ":thermometer:",
        ":mask:",
        ":face_with_head_bandage:",
    ],
)
def test_away_emoji_mean_away_without_text(emoji: str) -> None:
    assert reason(emoji=emoji) is not None


def test_an_emoji_with_a_skin_tone_is_recognised() -> None:
    assert reason(emoji=":airplane::skin-tone-3:") == "Slack status: ✈️"


def test_an_away_emoji_typed_in_the_text_counts() -> None:
    assert reason("🏝 back on the 3rd") is not None


@pytest.mark.parametrize(
    ("text", "emoji"),
    [
        ("In a meeting", ":spiral_calendar_pad:"),
        ("Focus time", ":no_entry:"),
        ("Lunch", ":hamburger:"),
        ("Building the new pipeline", ""),
        ("Skills workshop", ""),
        ("Please leave a message", ""),
        ("Illustrating the roadmap", ""),
    ],
)
def test_working_statuses_are_not_away(text: str, emoji: str) -> None:
    assert reason(text, emoji) is None


def test_no_status_is_not_away_even_with_an_expiration() -> None:
    assert reason(expiration=TOMORROW) is None


def test_any_status_set_beyond_today_reads_as_a_longer_absence() -> None:
    assert reason("Conference in Berlin", ":bust_in_silhouette:", TOMORROW) == (
        "Slack status: :bust_in_silhouette: Conference in Berlin"
    )


def test_a_status_ending_today_is_not_an_absence() -> None:
    assert reason("Conference in Berlin", expiration=LATER_TODAY) is None


def test_an_at_work_status_set_for_days_is_not_an_absence() -> None:
    assert reason("Working remotely", ":house_with_garden:", TOMORROW) is None


def test_the_reason_shows_at_most_the_status_length() -> None:
    found = reason("PTO " + "x" * 300)
    assert found is not None and len(found) <= len("Slack status: ") + 100


def test_an_odd_emoji_value_is_left_out_of_the_reason() -> None:
    assert reason("On vacation", "<b>" * 100) == "Slack status: On vacation"


@given(text=st.text(), emoji=st.text(), expiration=st.integers(-(2**40), 2**40))
def test_any_status_gives_a_reason_or_none(text: str, emoji: str, expiration: int) -> None:
    found = reason(text, emoji, expiration)
    assert found is None or (found.startswith("Slack status: ") and len(found) <= 200)

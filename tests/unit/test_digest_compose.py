"""compose_digest: a digest's plain facts in core's markup, per-person data only for 5+."""

from __future__ import annotations

from datetime import date

from core.digest import DigestFacts, compose_digest

DAY = date(2026, 11, 24)


def facts(group_size: int) -> DigestFacts:
    return DigestFacts(
        title="Daily check-in", since=DAY, until=DAY, planned=6, completed=5,
        group_size=group_size, answered=5, moods={5: 2, 4: 2, 2: 1},
        blockers=(("waiting on review", 3),),
        alerts=("The mood average fell from 4.2 to 3.0 week over week.",),
        summary="Busy but steady.",
    )  # fmt: skip


def test_a_group_of_five_sees_blockers_alerts_and_the_summary() -> None:
    text = compose_digest(facts(5), key="digest:1:2026-11-24").text
    assert text.splitlines() == [
        "**Daily check-in digest, 2026-11-24**",
        "Participation: 5 of 6 check-ins (83%)",
        "Mood: average 4.0 (5: 2, 4: 2, 2: 1)",
        "**Repeated blockers**",
        "- waiting on review (3 check-ins in a row)",
        "**Alerts**",
        "- The mood average fell from 4.2 to 3.0 week over week.",
        "**Summary**",
        "Busy but steady.",
    ]


def test_a_group_of_four_sees_its_participation_and_alerts_only() -> None:
    assert compose_digest(facts(4)).text.splitlines() == [
        "**Daily check-in digest, 2026-11-24**",
        "Participation: 5 of 6 check-ins (83%)",
        "Moods, blockers and summaries are shown for groups of 5 or more.",
        "**Alerts**",
        "- The mood average fell from 4.2 to 3.0 week over week.",
    ]


def test_the_key_tags_the_message() -> None:
    assert compose_digest(facts(5), key="k").key == "k"


def test_a_day_without_check_ins_says_so() -> None:
    empty = DigestFacts(title="Daily check-in", since=DAY, until=DAY, group_size=5)
    assert "no check-ins were planned" in compose_digest(empty).text
    assert "Mood: no answers." in compose_digest(empty).text

"""The `report` answer (the team digest, then the counts) in the language spoken; the
answers themselves stay as members wrote them."""

from __future__ import annotations

from datetime import date

from core.digest import DigestFacts, compose_digest
from core.i18n import speaking
from core.report import AgentReport, Report

SINCE, UNTIL = date(2026, 11, 18), date(2026, 11, 24)


def test_a_digest_in_french_keeps_the_blockers_as_written() -> None:
    facts = DigestFacts(
        title="Pulse", since=SINCE, until=UNTIL, planned=4, completed=3, group_size=5,
        moods={4: 2, 3: 1}, blockers=(("Ana: waiting on legal", 2),),
    )  # fmt: skip
    with speaking("fr"):
        text = compose_digest(facts).text
    assert text.splitlines() == [
        "**Résumé Pulse, du 2026-11-18 au 2026-11-24**",
        "Participation : 3 check-ins sur 4 (75%)",
        "Humeur : moyenne 3.7 (4: 2, 3: 1)",
        "**Blocages récurrents**",
        "- Ana: waiting on legal (2 check-ins d'affilée)",
    ]


def test_an_empty_report_in_spanish() -> None:
    with speaking("es"):
        text = Report(since=SINCE, until=UNTIL, agents=()).as_text()
    assert text == "No hay check-ins del 2026-11-18 al 2026-11-24."


def test_a_small_groups_hidden_answers_are_explained_in_german() -> None:
    agent = AgentReport(
        slug="pulse", name="Pulse", planned=2, delivered=2, completed=1, skipped=1, expired=0,
        failed=0, numbers=(), texts=(), group_size=2, threshold=5,
    )  # fmt: skip
    with speaking("de"):
        text = Report(since=SINCE, until=UNTIL, agents=(agent,)).as_text()
    assert text.splitlines() == [
        "Check-ins vom 2026-11-18 bis 2026-11-24",
        "",
        "pulse (Pulse): 2 geplant, 2 zugestellt, 1 abgeschlossen, 1 ausgelassen, 0 abgelaufen",
        "  Antwortquote 50%",
        "  Einzelne Antworten sind ausgeblendet: Diese Gruppe hat 2 Personen, weniger als 5.",
    ]

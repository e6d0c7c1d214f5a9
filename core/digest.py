"""A schedule's team digest: what its group's check-ins came to over a window.

`digest_content` gathers the facts (participation from core.report; the mood
distribution, repeated blockers and alerts from queries of its own), `summarised` adds a
model's summary (outside any transaction), `compose_digest` words them in core's markup.
The posting (once per schedule and local date, crash-safe) is core.digest_posting's; the
`report` command shows the same digest on demand.

Privacy: per-person data (moods, blocker texts, alerts, the model's summary) is shown
only for a group of at least ANONYMITY_THRESHOLD people, and no model is asked to
summarise fewer than SUMMARY_MINIMUM people's answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import SessionState
from core.ports import AiCall, OutgoingMessage, Summariser
from core.report import build_report
from core.store.models import Agent, AiLog, CheckinSession, Dot, Organization, Schedule

#: A group smaller than this never has per-person data shown.
ANONYMITY_THRESHOLD = 5
#: No model summarises fewer distinct people's answers than this.
SUMMARY_MINIMUM = 5
#: A week-over-week fall of the mood average by this much is an alert.
MOOD_DROP = 1.0
MOOD_KEY = "mood"
BLOCKER_KEYS = ("blockers", "blocker")
_SAYS_NOTHING = ("", "-", "no", "none", "nope", "nothing", "n/a", "na")


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """What a digest says, as plain values (the composer's input)."""

    title: str
    since: date
    until: date
    planned: int = 0
    completed: int = 0
    group_size: int = 0
    answered: int = 0
    moods: Mapping[int, int] = field(default_factory=dict)
    blockers: tuple[tuple[str, int], ...] = ()
    alerts: tuple[str, ...] = ()
    summary: str | None = None
    #: The check-ins' own summaries a model may summarise: only for a group of
    #: SUMMARY_MINIMUM people or more who answered (else empty); never shown as such.
    to_summarise: tuple[str, ...] = ()

    @property
    def per_person_shown(self) -> bool:
        return self.group_size >= ANONYMITY_THRESHOLD


def compose_digest(facts: DigestFacts, *, key: str | None = None) -> OutgoingMessage:
    """The digest in core's markup (each chat renders it its own way)."""
    period = facts.until.isoformat()
    if facts.since != facts.until:
        period = f"{facts.since.isoformat()} to {period}"
    lines = [f"**{facts.title} digest, {period}**", _participation(facts)]
    if not facts.per_person_shown:  # a small group's moods would tell who feels what
        lines.append(
            f"Moods, blockers, alerts and summaries are shown for groups of "
            f"{ANONYMITY_THRESHOLD} or more."
        )
        return OutgoingMessage("\n".join(lines), key=key)
    lines.append(_moods(facts.moods))
    if facts.blockers:
        lines += ["**Repeated blockers**"]
        lines += [f"- {text} ({times} check-ins)" for text, times in facts.blockers]
    if facts.alerts:
        lines += ["**Alerts**", *(f"- {alert}" for alert in facts.alerts)]
    if facts.summary:
        lines += ["**Summary**", facts.summary]
    return OutgoingMessage("\n".join(lines), key=key)


def _participation(facts: DigestFacts) -> str:
    if not facts.planned:
        return "Participation: no check-ins were planned."
    rate = facts.completed / facts.planned
    return f"Participation: {facts.completed} of {facts.planned} check-ins ({rate:.0%})"


def _moods(moods: Mapping[int, int]) -> str:
    if not moods:
        return "Mood: no answers."
    answers = sum(moods.values())
    average = sum(score * n for score, n in moods.items()) / answers
    shown = ", ".join(f"{score}: {moods[score]}" for score in sorted(moods, reverse=True))
    return f"Mood: average {average:.1f} ({shown})"


async def digest_content(
    db: AsyncSession,
    *,
    org_id: int,
    schedule_id: int,
    since: date,
    until: date,
) -> DigestFacts:
    """The facts of the schedule's digest for local dates `since` to `until` (both in),
    without the model's summary (`summarised` adds it, outside any transaction).

    One function for the lead to switch to core.insights.group_insights when merging."""
    agent = await db.scalar(
        select(Agent)
        .join(Schedule, Schedule.agent_id == Agent.id)
        .where(Schedule.id == schedule_id, Schedule.org_id == org_id)
    )
    if agent is None:
        return DigestFacts(title="Check-in", since=since, until=until)
    report = await build_report(db, org_id=org_id, agent_slug=agent.slug, since=since, until=until)
    counts = report.agents[0] if report.agents else None
    window = _window(org_id, schedule_id, since, until)
    facts = DigestFacts(
        title=agent.name,
        since=since,
        until=until,
        planned=counts.planned if counts else 0,
        completed=counts.completed if counts else 0,
        group_size=await _people(db, window),
        answered=await _people(db, (*window, _completed())),
        moods=await _moods_of(db, window),
    )
    if not facts.per_person_shown:
        return facts
    alerts = await _mood_alerts(db, org_id, schedule_id, until)
    blockers = await _repeated_blockers(db, window)
    to_summarise = await _summaries(db, window) if facts.answered >= SUMMARY_MINIMUM else ()
    return replace(facts, alerts=alerts, blockers=blockers, to_summarise=to_summarise)


def _window(
    org_id: int, schedule_id: int, since: date, until: date
) -> tuple[ColumnElement[bool], ...]:
    return (
        CheckinSession.org_id == org_id,
        CheckinSession.schedule_id == schedule_id,
        CheckinSession.local_date.between(since, until),
    )


def _completed() -> ColumnElement[bool]:
    return CheckinSession.state == SessionState.COMPLETED.value


async def _people(db: AsyncSession, where: Sequence[ColumnElement[bool]]) -> int:
    found = await db.scalar(select(func.count(distinct(CheckinSession.member_id))).where(*where))
    return int(found or 0)


async def _moods_of(db: AsyncSession, window: Sequence[ColumnElement[bool]]) -> dict[int, int]:
    score = func.round(Dot.num_value)
    rows = await db.execute(
        select(score, func.count())
        .join(CheckinSession, CheckinSession.id == Dot.session_id)
        .where(Dot.key == MOOD_KEY, Dot.num_value.is_not(None), *window)
        .group_by(score)
    )
    return {int(value): int(n) for value, n in rows}


async def _repeated_blockers(
    db: AsyncSession, window: Sequence[ColumnElement[bool]]
) -> tuple[tuple[str, int], ...]:
    """Blockers named in two check-ins or more (the same words, any case)."""
    text = func.lower(func.trim(Dot.text_value))
    rows = await db.execute(
        select(text, func.count())
        .join(CheckinSession, CheckinSession.id == Dot.session_id)
        .where(Dot.key.in_(BLOCKER_KEYS), Dot.text_value.is_not(None), *window)
        .where(text.not_in(_SAYS_NOTHING))
        .group_by(text)
        .having(func.count() >= 2)
        .order_by(func.count().desc(), text)
        .limit(5)
    )
    return tuple((str(words), int(n)) for words, n in rows)


async def _mood_alerts(
    db: AsyncSession, org_id: int, schedule_id: int, until: date
) -> tuple[str, ...]:
    """The mood average of the last 7 days against the 7 before: a fall of MOOD_DROP."""
    week = timedelta(days=6)
    latest = await _mood_average(db, _window(org_id, schedule_id, until - week, until))
    earlier_end = until - timedelta(days=7)
    earlier = await _mood_average(db, _window(org_id, schedule_id, earlier_end - week, earlier_end))
    if latest is None or earlier is None or earlier - latest < MOOD_DROP:
        return ()
    return (f"The mood average fell from {earlier:.1f} to {latest:.1f} week over week.",)


async def _mood_average(db: AsyncSession, window: Sequence[ColumnElement[bool]]) -> float | None:
    found = await db.scalar(
        select(func.avg(Dot.num_value))
        .join(CheckinSession, CheckinSession.id == Dot.session_id)
        .where(Dot.key == MOOD_KEY, *window)
    )
    return None if found is None else float(found)


async def _summaries(db: AsyncSession, window: Sequence[ColumnElement[bool]]) -> tuple[str, ...]:
    rows = await db.scalars(
        select(CheckinSession.summary)
        .where(*window, _completed(), CheckinSession.summary.is_not(None))
        .order_by(CheckinSession.id)
    )
    return tuple(map(str, rows))


async def summarised(
    facts: DigestFacts, summariser: Summariser | None
) -> tuple[DigestFacts, tuple[AiCall, ...]]:
    """The facts with the model's summary, when there is a model and enough people
    answered; the calls made, for `record_ai_calls`. Call it outside a transaction."""
    enough = facts.per_person_shown and facts.answered >= SUMMARY_MINIMUM
    if summariser is None or not facts.to_summarise or not enough:
        return facts, ()
    result = await summariser.summarise(group=facts.title, summaries=facts.to_summarise)
    return replace(facts, summary=result.text), result.calls


async def record_ai_calls(db: AsyncSession, *, org_id: int, calls: Sequence[AiCall]) -> None:
    """One ai_logs row per call; the prompt text only when the org opted in."""
    if not calls:
        return
    keep_text = await db.scalar(select(Organization.store_ai_text).where(Organization.id == org_id))
    for call in calls:
        fields = asdict(call)
        if not keep_text:
            fields["prompt_text"] = None
        db.add(AiLog(org_id=org_id, session_id=None, **fields))

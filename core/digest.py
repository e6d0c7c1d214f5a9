"""A schedule's team digest: what its group's check-ins came to over a window.

`digest_content` gathers the facts (core.insights: participation, the mood
distribution, repeated blockers and alerts, as the dashboard shows them), `summarised` adds a
model's summary (outside any transaction), `compose_digest` words them in core's markup.
The posting (once per schedule and local date, crash-safe) is core.digest_posting's; the
`report` command shows the same digest on demand.

Privacy: per-person data (moods, blocker texts, the model's summary) is shown only for a
group of at least the org's anonymity threshold (alerts name no one below it), and no
model is asked to summarise fewer than SUMMARY_MINIMUM people's answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.scope import NotFound
from core.i18n import _
from core.insights import CellState, group_insights
from core.ports import AiCall, OutgoingMessage, Summariser
from core.store.models import AiLog, Organization

#: No model summarises fewer distinct people's answers than this (whatever the org's
#: anonymity threshold).
SUMMARY_MINIMUM = 5


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """What a digest says, as plain values (the composer's input)."""

    title: str
    since: date
    until: date
    planned: int = 0
    completed: int = 0
    group_size: int = 0
    #: The org's anonymity threshold: a smaller group's per-person data is not shown.
    threshold: int = 5
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
        return self.group_size >= self.threshold


def compose_digest(facts: DigestFacts, *, key: str | None = None) -> OutgoingMessage:
    """The digest in core's markup (each chat renders it its own way)."""
    period = facts.until.isoformat()
    if facts.since != facts.until:
        period = _("{since} to {until}", since=facts.since.isoformat(), until=period)
    title = _("**{title} digest, {period}**", title=_(facts.title), period=period)
    lines = [title, _participation(facts)]
    if facts.per_person_shown:
        lines.append(_moods(facts.moods))
        if facts.blockers:
            lines += [_("**Repeated blockers**")]
            lines += [
                _("- {blocker} ({count} check-ins in a row)", blocker=text, count=times)
                for text, times in facts.blockers
            ]
    else:  # a small group's moods would tell who feels what
        lines.append(
            _("Moods, blockers and summaries are shown for groups of {count} or more.",
              count=facts.threshold)
        )  # fmt: skip
    if facts.alerts:  # a small group's alerts name no one (core.insights)
        lines += [_("**Alerts**"), *(f"- {alert}" for alert in facts.alerts)]
    if facts.summary and facts.per_person_shown:
        lines += [_("**Summary**"), facts.summary]
    return OutgoingMessage("\n".join(lines), key=key)


def _participation(facts: DigestFacts) -> str:
    if not facts.planned:
        return _("Participation: no check-ins were planned.")
    rate = facts.completed / facts.planned
    return _(
        "Participation: {completed} of {planned} check-ins ({rate})",
        completed=facts.completed, planned=facts.planned, rate=format(rate, ".0%"),
    )  # fmt: skip


def _moods(moods: Mapping[int, int]) -> str:
    if not moods:
        return _("Mood: no answers.")
    answers = sum(moods.values())
    average = sum(score * n for score, n in moods.items()) / answers
    shown = ", ".join(f"{score}: {moods[score]}" for score in sorted(moods, reverse=True))
    return _("Mood: average {average} ({answers})", average=format(average, ".1f"), answers=shown)


async def digest_content(
    db: AsyncSession,
    *,
    org_id: int,
    schedule_id: int,
    since: date,
    until: date,
    now: datetime,
) -> DigestFacts:
    """The facts of the schedule's digest for local dates `since` to `until` (both in),
    without the model's summary (`summarised` adds it, outside any transaction): the
    group's insights (core.insights, the dashboard's figures and anonymity rule)."""
    try:
        group = await group_insights(
            db, org_id=org_id, schedule_id=schedule_id, since=since, until=until, now=now
        )
    except NotFound:
        return DigestFacts(title="Check-in", since=since, until=until)
    answered = {row.member_id for row in group.members for cell in row.cells
                if cell.state is CellState.COMPLETED}  # fmt: skip
    enough = group.per_person_shown and len(answered) >= SUMMARY_MINIMUM
    return DigestFacts(
        title=group.agent_name,
        since=since,
        until=until,
        planned=group.due,
        completed=group.completed,
        group_size=group.group_size,
        threshold=group.threshold,
        answered=len(answered),
        moods={score: n for score, n in group.mood_distribution if n},
        blockers=tuple((f"{b.member}: {b.text}", b.run_length) for b in group.blockers),
        alerts=tuple(alert.message for alert in group.alerts),
        to_summarise=tuple(s.text for s in group.summaries) if enough else (),
    )


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

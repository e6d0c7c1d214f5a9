"""Continuity: a check-in opens with what matters from the member's previous one.

The previous check-in is the member's last completed session of the same agent, after
their last `forget`. Its dots say what to follow up: a blocker they reported (or said
was still open) comes first — "Still blocked?" — else the focus they planned — "How did
it go?". Only that member's own dots are read.

The follow-up questions are plan questions of the catalog's agents (core/catalog.py),
asked first and only when there is something to follow up (`plan_for`). The answers
become dots: `blocker_status` (still blocked | resolved), `blocker_checkins` (for how
many check-ins the blocker has been open: 1 the day it was reported, so a blocker
resolved at the next check-in lasted 1) and `focus_review` (how the focus went). A
blocker still open stays the session's `blockers` dot, so the next check-in asks again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.answers import means_none
from core.domain import AgentSpec, SessionState
from core.i18n import N_, _
from core.ports import BrainInput, Recall
from core.store.models import CheckinSession, Dot, Member

BLOCKERS, FOCUS = "blockers", "focus"
BLOCKER_STATUS, FOCUS_REVIEW, BLOCKER_CHECKINS = (
    "blocker_status",
    "focus_review",
    "blocker_checkins",
)
STILL_BLOCKED, RESOLVED = "still blocked", "resolved"
#: The follow-up question of each dot it recalls.
FOLLOW_UPS = {BLOCKERS: BLOCKER_STATUS, FOCUS: FOCUS_REVIEW}
#: Dots the engine works out itself (no brain extracts them).
ENGINE_DOTS = frozenset({BLOCKER_CHECKINS})
#: The recall lines, in the member's language; the member's own words stay as written.
RECALLED_BLOCKER = N_("Last time you mentioned a blocker: “{blocker}”.")
RECALLED_FOCUS = N_("Last time your main focus was: “{focus}”.")
STATE_KEY = "recall"


async def recall_for(db: AsyncSession, session: CheckinSession, member: Member) -> Recall | None:
    """What `session` follows up from the member's previous completed check-in, if any."""
    previous = (
        select(CheckinSession.id)
        .where(
            CheckinSession.org_id == member.org_id,
            CheckinSession.member_id == member.id,
            CheckinSession.agent_id == session.agent_id,
            CheckinSession.state == SessionState.COMPLETED.value,
            CheckinSession.id != session.id,
        )
        .order_by(CheckinSession.completed_at.desc(), CheckinSession.id.desc())
        .limit(1)
    )
    if member.memory_cleared_at is not None:
        previous = previous.where(CheckinSession.completed_at > member.memory_cleared_at)
    rows = await db.execute(
        select(Dot.key, Dot.num_value, Dot.text_value).where(
            Dot.session_id == previous.scalar_subquery(), Dot.member_id == member.id
        )
    )
    dots = {key: number if number is not None else text for key, number, text in rows}
    return recall_from(dots)


def recall_from(dots: Mapping[str, float | str | None]) -> Recall | None:
    """The blocker to follow up (and for how long it has been open), else the focus."""
    blocker = _said(dots.get(BLOCKERS))
    if blocker is not None:
        carried = dots.get(BLOCKER_STATUS) == STILL_BLOCKED
        lasted = dots.get(BLOCKER_CHECKINS)
        checkins = int(lasted) if carried and isinstance(lasted, float) else 1
        return Recall(blocker=blocker, blocker_checkins=checkins)
    focus = _said(dots.get(FOCUS))
    return Recall(focus=focus) if focus is not None else None


def _said(value: float | str | None) -> str | None:
    if not isinstance(value, str) or not value.strip() or means_none(value):
        return None
    return value.strip()


# --- in the session's state ------------------------------------------------------------------
def with_recall(state: Mapping[str, Any], recall: Recall | None) -> dict[str, Any]:
    return {**state, STATE_KEY: asdict(recall)} if recall is not None else dict(state)


def recall_in(state: Mapping[str, Any]) -> Recall | None:
    stored = state.get(STATE_KEY)
    if not isinstance(stored, Mapping):
        return None
    return Recall(
        blocker=stored.get("blocker"),
        blocker_checkins=int(stored.get("blocker_checkins") or 0),
        focus=stored.get("focus"),
    )


# --- the plan of one session -----------------------------------------------------------------
def plan_for(agent: AgentSpec, recall: Recall | None) -> AgentSpec:
    """The agent's plan for a session: the follow-up that applies first, the others gone."""
    recalled = {key for key in (BLOCKERS, FOCUS) if recall and getattr(recall, _field(key))}
    asked = {FOLLOW_UPS[key] for key in recalled}
    dropped = (set(FOLLOW_UPS.values()) - asked) | ENGINE_DOTS
    first = [q for q in agent.questions if q.key in asked]
    rest = [q for q in agent.questions if q.key not in asked and q.key not in dropped]
    dots = tuple(key for key in agent.dot_keys if key not in dropped)
    return replace(agent, questions=(*first, *rest), dot_keys=dots)


def _field(key: str) -> str:
    return "blocker" if key == BLOCKERS else "focus"


def for_session(given: BrainInput) -> BrainInput:
    """`given` with the session's own plan (what brains work from)."""
    return replace(given, agent=plan_for(given.agent, given.recall))


def recall_line(recall: Recall) -> str:
    """The words that bring the previous check-in back (the scripted brain's, and the
    OpenAI brain's when the model's wording is unusable)."""
    if recall.blocker is not None:
        return _(RECALLED_BLOCKER, blocker=recall.blocker)
    return _(RECALLED_FOCUS, focus=recall.focus)


# --- the engine's part -----------------------------------------------------------------------
def carry_blocker(state: Mapping[str, Any]) -> dict[str, Any]:
    """A blocker still open is this check-in's blocker too: not asked for again."""
    answers = dict(state.get("answers", {}))
    recall = recall_in(state)
    if recall and recall.blocker and answers.get(BLOCKER_STATUS) == STILL_BLOCKED:
        answers.setdefault(BLOCKERS, recall.blocker)
    return {**state, "answers": answers}


def engine_dots(state: Mapping[str, Any]) -> dict[str, float | str]:
    """How many check-ins the recalled blocker has been open, once its status is known."""
    recall, status = recall_in(state), state.get("answers", {}).get(BLOCKER_STATUS)
    if recall is None or recall.blocker is None or status not in (STILL_BLOCKED, RESOLVED):
        return {}
    lasted = recall.blocker_checkins + (1 if status == STILL_BLOCKED else 0)
    return {BLOCKER_CHECKINS: float(lasted)}

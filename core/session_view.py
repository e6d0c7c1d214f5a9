"""A check-in as a page shows it (the dev chat, the browser check-in page): its turns, how
it stands, and the buttons of the question waiting — one reading for every page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import SessionState, Speaker
from core.i18n import N_, _
from core.ports import Button
from core.records import agent_spec, pending_question
from core.rendering import question_buttons
from core.store.models import Agent, CheckinSession, Message

#: A check-in's state in words, as the App Home and the dev chat's headings name it.
_STATE_WORDS = {
    "scheduled": N_("scheduled"),
    "delivering": N_("delivering"),
    "delivered": N_("delivered"),
    "in_progress": N_("in progress"),
    "completed": N_("completed"),
    "expired": N_("expired"),
    "skipped": N_("skipped"),
    "failed": N_("failed"),
}


def state_in_words(state: str) -> str:
    """The state's words in the current language."""
    return _(_STATE_WORDS[state]) if state in _STATE_WORDS else state.replace("_", " ")


@dataclass(frozen=True, slots=True)
class ShownTurn:
    message_id: int
    speaker: Speaker
    text: str


@dataclass(frozen=True, slots=True)
class SessionView:
    session_id: int
    agent_name: str
    local_date: date
    #: A session left open past its end (the loop has not marked it yet) shows as expired.
    state: SessionState
    summary: str | None
    turns: tuple[ShownTurn, ...]
    #: The waiting question's buttons (and "Skip today"); none unless the session is open.
    buttons: tuple[Button, ...]


async def view_session(db: AsyncSession, session: CheckinSession, now: datetime) -> SessionView:
    agent = agent_spec(await db.get_one(Agent, session.agent_id))
    rows = await db.scalars(
        select(Message).where(Message.session_id == session.id).order_by(Message.id)
    )
    state = SessionState(session.state)
    is_open = state.is_open and session.expires_at > now
    if state.is_open and not is_open:
        state = SessionState.EXPIRED
    pending = pending_question(agent, session.brain_state) if is_open else None
    return SessionView(
        session_id=session.id,
        agent_name=agent.name,
        local_date=session.local_date,
        state=state,
        summary=session.summary,
        turns=tuple(ShownTurn(m.id, Speaker(m.speaker), m.text) for m in rows),
        buttons=question_buttons(session.id, pending) if is_open else (),
    )

"""Reading a conversation and recording what a turn produced (shared by delivery and turns)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.continuity import recall_in
from core.domain import AgentSpec, Question, QuestionKind, Speaker
from core.ports import (
    AiCall,
    BrainInput,
    Learned,
    Turn,
)
from core.records import agent_spec, pending_question
from core.store.models import Agent, AiLog, CheckinSession, Dot, Member, Message, Organization

log = logging.getLogger("vizdots.conversation")


@dataclass(frozen=True, slots=True)
class Conversation:
    """A session with everything needed to take its next turn, as read at `version`."""

    session: CheckinSession
    agent: AgentSpec
    member: Member
    org: Organization
    transcript: tuple[Turn, ...]

    def brain_input(self, state: Mapping[str, Any]) -> BrainInput:
        return BrainInput(
            agent=self.agent,
            member_name=self.member.display_name.split(" ")[0],
            transcript=self.transcript,
            state=state,
            org_id=self.org.id,
            session_id=self.session.id,
            recall=recall_in(state),
        )

    @property
    def pending(self) -> Question | None:
        return pending_question(self.agent, self.session.brain_state)


async def load_conversation(db: AsyncSession, session_id: int) -> Conversation:
    session = await db.get_one(CheckinSession, session_id, populate_existing=True)
    member = await db.get_one(Member, session.member_id)
    org = await db.get_one(Organization, session.org_id)
    agent = agent_spec(await db.get_one(Agent, session.agent_id))
    rows = await db.scalars(
        select(Message).where(Message.session_id == session_id).order_by(Message.id)
    )
    transcript = tuple(Turn(Speaker(m.speaker), m.text, m.question_key) for m in rows)
    return Conversation(session, agent, member, org, transcript)


def record_calls(db: AsyncSession, convo: Conversation, calls: tuple[AiCall, ...]) -> None:
    """One ai_logs row per LLM call; the prompt text only when the org opted in."""
    for call in calls:
        fields = asdict(call)
        if not convo.org.store_ai_text:
            fields["prompt_text"] = None
        db.add(AiLog(org_id=convo.org.id, session_id=convo.session.id, **fields))


def record_dots(db: AsyncSession, convo: Conversation, dots: Mapping[str, float | str]) -> None:
    for key, value in valid_dots(convo.agent, dots).items():
        number = value if isinstance(value, float) else None
        db.add(
            Dot(
                session_id=convo.session.id,
                org_id=convo.org.id,
                member_id=convo.member.id,
                key=key,
                num_value=number,
                text_value=None if number is not None else str(value),
            )
        )


async def replace_dot(db: AsyncSession, convo: Conversation, key: str, value: float | str) -> None:
    """A corrected answer after completion: the dot follows (or goes, if now invalid)."""
    await db.execute(delete(Dot).where(Dot.session_id == convo.session.id, Dot.key == key))
    await db.flush()
    number = float(value) if isinstance(value, int | float) else value
    record_dots(db, convo, {key: number})


def valid_dots(agent: AgentSpec, dots: Mapping[str, float | str]) -> dict[str, float | str]:
    """Only the agent's dot keys; scale values as numbers 1–5, the rest as short text
    (a number for a key no question asks, such as a count the engine works out)."""
    scales = {q.key for q in agent.questions if q.kind is QuestionKind.SCALE}
    asked = {q.key for q in agent.questions}
    kept: dict[str, float | str] = {}
    for key, value in dots.items():
        if key not in agent.dot_keys:
            continue
        if key in scales:
            if isinstance(value, int | float) and 1 <= value <= 5:
                kept[key] = float(value)
        elif key not in asked and isinstance(value, float):
            kept[key] = value
        elif str(value).strip():
            kept[key] = str(value).strip()[:500]
    return kept


#: Member columns a channel may fill in while sending (an address it had to look up, or
#: found dead): a Slack DM channel id, a Teams conversation reference (JSON), a flag.
LEARNABLE = frozenset({"slack_dm_channel_id", "teams_conversation_ref", "teams_unreachable"})


async def remember_learned(db: AsyncSession, member_id: int, learned: Learned) -> None:
    """Store what the channel learned (a Slack DM channel id, a Teams conversation
    reference) so it is looked up only once; other keys are ignored."""
    values = {key: value for key, value in learned.items() if key in LEARNABLE}
    if values:
        await db.execute(update(Member).where(Member.id == member_id).values(**values))

"""The engine's part of a check-in, without a database: drives any Brain turn by turn.

Tests and the token bench use it to hold whole check-ins with a brain (the OpenAI brain
against tests/fakes/openai_server.py, or the bench's naive brain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.answers import read_answer, with_answer
from core.continuity import carry_blocker, recall_in, with_recall
from core.domain import AgentSpec, Speaker
from core.ports import Brain, BrainInput, BrainReply, Recall, Turn


@dataclass
class Checkin:
    """Drives a brain the way core/conversation.py does, keeping transcript and state.

    The member's turn is stored first (with the pending key); a scale or choice answer is
    read by the engine into `answers`, a text answer goes in raw; then `respond` is asked.
    """

    brain: Brain
    agent: AgentSpec
    member_name: str = "Ana"
    transcript: list[Turn] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    #: What the opening follows up from a previous check-in, as delivery would find it.
    recall: Recall | None = None

    def given(self) -> BrainInput:
        return BrainInput(
            agent=self.agent,
            member_name=self.member_name,
            transcript=tuple(self.transcript),
            state=dict(self.state),
            org_id=1,
            session_id=1,
            recall=recall_in(self.state),
        )

    async def start(self) -> BrainReply:
        self.state = with_recall(self.state, self.recall)
        return self._took(await self.brain.opening(self.given()))

    async def answer(self, text: str) -> BrainReply:
        pending = self.state.get("pending")
        self.transcript.append(Turn(Speaker.MEMBER, text, pending))
        question = next((q for q in self.agent.questions if q.key == pending), None)
        if question is not None:
            value = read_answer(question, text)
            if value is None:
                raise ValueError(f"the engine would ask again after {text!r}")
            self.state = carry_blocker(with_answer(self.state, question, value))
        return self._took(await self.brain.respond(self.given()))

    def _took(self, reply: BrainReply) -> BrainReply:
        key = reply.question.key if reply.question else reply.state.get("pending")
        self.transcript.append(Turn(Speaker.AGENT, reply.text, key))
        self.state = dict(reply.state)
        return reply

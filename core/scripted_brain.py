"""The brain that needs no outside service: the agent's plan in order, rule-based dots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from core.answers import means_none
from core.continuity import for_session, recall_line
from core.domain import AgentSpec, Question, QuestionKind
from core.i18n import _, current_language
from core.ports import AiCall, Brain, BrainInput, BrainReply, BrainUnavailable


def next_question(agent: AgentSpec, answers: Mapping[str, Any]) -> Question | None:
    return next((q for q in agent.questions if q.key not in answers), None)


def extract_dots(agent: AgentSpec, answers: Mapping[str, Any]) -> dict[str, float | str]:
    """Dots by rule: scale answers as numbers, text answers trimmed ("none" kept as such)."""
    kinds = {q.key: q.kind for q in agent.questions}
    dots: dict[str, float | str] = {}
    for key in agent.dot_keys:
        value = answers.get(key)
        if value is None:
            continue
        if kinds.get(key) is QuestionKind.SCALE and isinstance(value, int | float):
            dots[key] = float(value)
        else:
            text = str(value).strip()
            dots[key] = "none" if means_none(text) else text[:500]
    return dots


def summarise(agent: AgentSpec, dots: Mapping[str, float | str]) -> str:
    parts = []
    for question in agent.questions:
        if question.key in dots:
            value = dots[question.key]
            shown = f"{value:g}/5" if isinstance(value, float) else value
            parts.append(f"{question.key.replace('_', ' ')}: {shown}")
    text = "; ".join(parts)
    return f"{text[:1].upper()}{text[1:]}." if parts else "No answers."


def greeting(given: BrainInput) -> str:
    """ "Hi Ana! Time for your daily check-in." in the current language (German keeps
    the agent's name capitalised, as its nouns are)."""
    name = given.agent.name
    agent = name if current_language() == "de" else name.lower()
    return _("Hi {name}! Time for your {agent}.", name=given.member_name, agent=agent)


def thanks(given: BrainInput) -> str:
    return _("Thanks, {name}! That's all for today. 🙌", name=given.member_name)


class ScriptedBrain:
    name = "scripted"

    async def opening(self, given: BrainInput) -> BrainReply:
        """Greeting and first question; a follow-up of the previous check-in opens with it."""
        given = for_session(given)
        first = given.agent.questions[0]
        opening = greeting(given)
        if given.recall is not None:
            opening += f"\n{recall_line(given.recall)}"
        state = {**given.state, "answers": {}, "pending": first.key, "follow_ups": 0}
        return BrainReply(text=f"{opening}\n{first.text}", state=state, question=first)

    async def respond(self, given: BrainInput) -> BrainReply:
        given = for_session(given)
        answers = dict(given.state.get("answers", {}))
        question = next_question(given.agent, answers)
        if question is not None:
            state = {**given.state, "pending": question.key}
            return BrainReply(text=question.text, state=state, question=question)
        dots = extract_dots(given.agent, answers)
        return BrainReply(
            text=thanks(given),
            state={**given.state, "pending": None},
            done=True,
            dots=dots,
            summary=summarise(given.agent, dots),
        )


class FallbackBrain:
    """Use `primary`; when it gives up, carry the session on with `fallback` for good.

    The member never sees the failure; the failed calls are still returned for ai_logs.
    """

    def __init__(self, *, primary: Brain, fallback: Brain) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    async def opening(self, given: BrainInput) -> BrainReply:
        return await self._ask(given, opening=True)

    async def close(self) -> None:
        """Release the primary's connections (an HTTP client for LLM brains)."""
        close = getattr(self.primary, "close", None)
        if close is not None:
            await close()

    async def respond(self, given: BrainInput) -> BrainReply:
        return await self._ask(given, opening=False)

    async def _ask(self, given: BrainInput, *, opening: bool) -> BrainReply:
        failed: tuple[AiCall, ...] = ()
        if given.state.get("brain") != self.fallback.name:
            brain = self.primary
            try:
                return await (brain.opening(given) if opening else brain.respond(given))
            except BrainUnavailable as failure:
                failed = failure.calls
        brain = self.fallback
        reply = await (brain.opening(given) if opening else brain.respond(given))
        return replace(
            reply, state={**reply.state, "brain": brain.name}, calls=failed + reply.calls
        )
